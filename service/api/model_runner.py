"""The embedding model of one service process, behind one dedicated thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from vidstyle.core.errors import first_line
from vidstyle.core.settings import Settings
from vidstyle.media.decode import DecodeError
from vidstyle.service.api.errors import Unavailable, Unprocessable
from vidstyle.service.api.metrics import Metrics

if TYPE_CHECKING:
    from vidstyle.embedder.model import EmbeddedVideo, Embedder

log = logging.getLogger("vidstyle.serve")

T = TypeVar("T")


class ModelRunner:
    """The embedding model behind one dedicated thread.

    `Embedder.embed_file` is blocking and serialised by its own lock, so one thread is all it can use; giving
    it its own executor keeps slow uploads from occupying the threads that index queries run on. The model is
    loaded on that thread too (at startup, in the background) so the server answers queries meanwhile.
    """

    def __init__(
        self,
        settings: Settings,
        expected_fingerprint: str,
        metrics: Metrics,
        factory: Callable[[Settings], Embedder] | None = None,
    ) -> None:
        self.settings = settings
        self.expected_fingerprint = expected_fingerprint
        self.metrics = metrics
        self._factory = factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-model")
        self._embedder: Embedder | None = None
        self._error: str | None = None
        self._pending = 0

    def preload(self) -> Future[None]:
        return self._executor.submit(self._get)

    def _get(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        if self._error is not None:
            raise Unavailable(self._error)
        try:
            if self._factory is None:
                from vidstyle.embedder.model import Embedder

                self._factory = Embedder
            threads = self.settings.serve.model_threads
            if threads:
                import torch

                # Leave the other cores to the index queries that run while a file is embedded.
                torch.set_num_threads(threads)
            embedder = self._factory(self.settings)
        except Exception as exc:  # noqa: BLE001 - any load failure makes uploads unavailable, with the reason
            self._error = f"model unavailable: {first_line(exc)}"
            log.error(self._error)
            raise Unavailable(self._error) from exc
        if embedder.fingerprint != self.expected_fingerprint:
            embedder.close()
            self._error = (
                f"the configured model ({embedder.fingerprint}) is not the one that built the index "
                f"({self.expected_fingerprint}); serve with the config the index was built with"
            )
            log.error(self._error)
            raise Unavailable(self._error)
        self._embedder = embedder
        log.info("model %s ready", embedder.fingerprint)
        return embedder

    def _embed(self, path: Path) -> EmbeddedVideo:
        embedder = self._get()
        t0 = time.perf_counter()
        try:
            result = embedder.embed_file(path)
        except DecodeError as exc:
            self.metrics.embed_seconds.labels("failed").observe(time.perf_counter() - t0)
            # The reason may quote the server's temp file name: of no use to the client, so left out.
            reason = str(exc).replace(f" '{path}'", "").replace(str(path), "the upload")
            raise Unprocessable(f"cannot decode the file: {reason}") from exc
        self.metrics.embed_seconds.labels("ok").observe(time.perf_counter() - t0)
        return result

    async def embed(self, path: Path) -> EmbeddedVideo:
        """Embed one file off the event loop; 503 when too many uploads already wait for the model."""
        return await self.run(self._embed, path)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Model work (an upload's embedding, a stylisation) on the model thread; 503 when too much waits."""
        if self._pending >= self.settings.serve.max_pending_embeds:
            raise Unavailable("too many requests are waiting for the model; retry shortly")
        self._pending += 1  # only touched on the event loop thread, so no lock
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None

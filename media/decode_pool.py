"""Decode videos in isolated worker processes, so one bad file cannot stall or crash a batch.

Each worker (spawn start method: no inherited torch/CUDA state) decodes one video at a time under an
address-space cap (RLIMIT_AS). The parent watches every worker: a video that runs past the wall-clock
timeout, or whose worker dies (segfault in a codec, out of memory), is reported as failed with the
reason, and the worker is replaced. Each worker has its own pipe: killing one never corrupts a shared queue.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from vidstyle.core import storage
from vidstyle.core.settings import DecodeSettings
from vidstyle.media.decode import Decoded, DecodeError, decode_file

STARTUP_LIMIT_S = 120.0


@dataclass(frozen=True)
class DecodeJob:
    key: str
    path: storage.Location  # a local file, or an object-store URL fetched by the worker


def _decode(path: storage.Location, options: dict[str, Any]) -> Decoded:
    """Decode a local file, or an object fetched into a temp folder first (decoders read local files only),
    refused past `max_file_mb` before or during the download, the copy removed afterwards."""
    if not storage.is_url(path):
        return decode_file(Path(path), **options)
    with tempfile.TemporaryDirectory(prefix="vidstyle-fetch-") as tmp:
        local = Path(tmp) / storage.name(str(path))
        storage.fetch(str(path), local, options["max_file_mb"] * 2**20)
        return decode_file(local, **options)


def _address_space_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _exit_with_parent() -> None:
    """End this worker the moment its parent dies (kill -9 included), quietly.

    Linux delivers SIGKILL to the worker when the parent thread dies (PR_SET_PDEATHSIG); elsewhere a daemon
    thread notices the parent is gone within half a second. Either way nothing is left decoding for nobody.
    """
    import ctypes
    import os
    import signal
    import sys
    import threading

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before the call above took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _worker_main(conn: Connection, options: dict[str, Any], memory_mb: int) -> None:
    import os
    import resource

    _exit_with_parent()

    import av  # noqa: F401 - load the decoder libraries before the cap, so it bounds decoding alone
    import decord  # noqa: F401

    # The cap is on top of what is already mapped: spawn re-imports the parent's main module, which may
    # have mapped large libraries (torch, CUDA) that the decoder never touches.
    limit = _address_space_bytes() + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent is gone
            return
        if job is None:
            return
        try:
            conn.send(("started", job.key))
        except OSError:  # the parent closed its end: nobody wants the result
            os._exit(0)
        try:
            result: Decoded | str = _decode(job.path, options)
        except (DecodeError, storage.StorageError) as exc:
            result = str(exc)
        except MemoryError:
            result = f"decoding needed more than the {memory_mb} MiB memory cap (decode.memory_mb)"
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a per-video failure
            result = f"{type(exc).__name__}: {exc}"
        try:
            conn.send(("done", result))
        except OSError:
            os._exit(0)
        if isinstance(result, str):
            # A failed decode can leave codec threads or memory behind: start the next video afresh.
            return


class _Worker:
    def __init__(self, ctx: mp.context.SpawnContext, options: dict[str, Any], memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, options, memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.job: DecodeJob | None = None
        self.submitted = 0.0
        self.started: float | None = None  # set when the worker picks the job up, after its start-up

    def submit(self, job: DecodeJob) -> None:
        self.job, self.submitted, self.started = job, time.monotonic(), None
        self.conn.send(job)

    def overdue(self, now: float, timeout_s: float) -> bool:
        if self.started is None:  # still starting up (imports): allow generously, but not forever
            return now - self.submitted > max(timeout_s, STARTUP_LIMIT_S)
        return now - self.started > timeout_s

    def stop(self, kill: bool = False) -> None:
        if kill or (self.job is not None and self.process.is_alive()):
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(timeout=5)
        self.conn.close()


class DecodePool:
    """`imap_unordered` over decode jobs → (job, Decoded | error reason), with timeouts and crash isolation."""

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        memory_mb: int,
        size: int,
        max_frames: int,
        min_gap_s: float,
        thumbnail_px: int,
        max_file_mb: int,
        allow_images: bool = True,
    ) -> None:
        self.n_workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.options = {
            "size": size, "max_frames": max_frames, "min_gap_s": min_gap_s,
            "thumbnail_px": thumbnail_px, "max_file_mb": max_file_mb, "allow_images": allow_images,
        }
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []

    @classmethod
    def from_settings(
        cls,
        decode: DecodeSettings,
        size: int,
        *,
        workers: int | None = None,
        thumbnail_px: int | None = None,
        allow_images: bool = True,
    ) -> DecodePool:
        """A pool decoding to `size`-pixel frames with the limits of `decode` (workers/thumbnails overridable)."""
        return cls(
            workers=workers or decode.workers, timeout_s=decode.timeout_s, memory_mb=decode.memory_mb, size=size,
            max_frames=decode.max_frames, min_gap_s=decode.min_gap_s,
            thumbnail_px=thumbnail_px or decode.thumbnail_px, max_file_mb=decode.max_file_mb,
            allow_images=allow_images,
        )

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for w in self._workers:
            w.stop()
        self._workers = []

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.options, self.memory_mb)

    def imap_unordered(self, jobs: Iterable[DecodeJob]) -> Iterator[tuple[DecodeJob, Decoded | str]]:
        pending = iter(jobs)
        if not self._workers:
            self._workers = [self._spawn() for _ in range(self.n_workers)]
        for w in self._workers:
            if (job := next(pending, None)) is not None:
                w.submit(job)
        while any(w.job is not None for w in self._workers):
            busy = [w for w in self._workers if w.job is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(self._workers):
                if w.job is None:
                    continue
                job, outcome = w.job, None
                if w.conn in ready:
                    try:
                        kind, payload = w.conn.recv()
                    except (EOFError, OSError):
                        kind, payload = "died", self._death_reason(w)
                    if kind == "started":
                        w.started = now
                        continue
                    outcome = payload
                elif w.process.sentinel in ready:
                    outcome = self._death_reason(w)
                elif w.overdue(now, self.timeout_s):
                    outcome = f"decoding timed out after {self.timeout_s:g} s (decode.timeout_s)"
                if outcome is None:
                    continue
                if isinstance(outcome, str):  # failed, hung or died: this worker is not reused
                    w.stop(kill=True)
                    w = self._workers[i] = self._spawn()
                else:
                    w.job = None
                yield job, outcome
                if (nxt := next(pending, None)) is not None:
                    w.submit(nxt)

    def _death_reason(self, w: _Worker) -> str:
        w.process.join(timeout=1)
        code = w.process.exitcode
        hint = " (killed: likely over the memory cap, decode.memory_mb)" if code == -9 else ""
        return f"decoder process crashed with exit code {code}{hint}"

"""Turning an uploaded file into vectors, shared by search and ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from vidstyle.service.api.state import AppState
from vidstyle.service.api.uploads import spool_upload

if TYPE_CHECKING:
    from vidstyle.embedder.pipeline import EmbeddedVideo


async def embed_upload(state: AppState, file: UploadFile) -> EmbeddedVideo:
    """413/415 from the size and magic bytes, 422 with the decoder's reason, 503 when the model is unavailable."""
    max_bytes = state.settings.serve.max_upload_mb * 2**20
    path = await run_in_threadpool(spool_upload, file, max_bytes)
    try:
        return await state.embed(path)
    finally:
        path.unlink(missing_ok=True)

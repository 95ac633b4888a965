"""Turning an uploaded file into vectors, shared by search and ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from vidstyle.service.api.state import AppState
from vidstyle.service.api.uploads import check_frame_size, spool_upload

if TYPE_CHECKING:
    from vidstyle.embedder.model import EmbeddedVideo


async def embed_upload(state: AppState, file: UploadFile) -> EmbeddedVideo:
    """413/415 from the size, the magic bytes and the frame size in the header, 422 with the decoder's reason,
    503 when the model is unavailable or busy."""
    serve = state.settings.serve
    path = await run_in_threadpool(spool_upload, file, serve.max_upload_mb * 2**20)
    try:
        await run_in_threadpool(check_frame_size, path, serve.max_upload_pixels)
        return await state.embed(path)
    finally:
        path.unlink(missing_ok=True)

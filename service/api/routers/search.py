"""Search by upload: nearest catalogue videos to an image or a video file."""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile

from vidstyle.service.api.deps import DEFAULT_SPACE, K, SpaceParam, State
from vidstyle.service.api.routers.upload import embed_upload
from vidstyle.service.api.schemas import ErrorResponse, Neighbour, SearchResponse, UnprocessableResponse
from vidstyle.service.api.uploads import UPLOAD_MEDIA_TYPES

router = APIRouter(prefix="/v1", tags=["search"])

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying (serve.retry_after_s)",
                               "schema": {"type": "integer"}, "required": True}}
UNAVAILABLE = {"model": ErrorResponse, "description": "the model is unavailable or busy", "headers": RETRY_AFTER}
UPLOAD_ERRORS = {
    400: {"model": ErrorResponse, "description": "the body is not multipart/form-data that can be parsed"},
    413: {"model": ErrorResponse, "description": "file over serve.max_upload_mb, or frames over "
          "serve.max_upload_pixels (from the file's header)"},
    415: {"model": ErrorResponse, "description": "not a supported image or video format (judged by its bytes)"},
    422: {"model": UnprocessableResponse,
          "description": "bad parameters (a list of issues), or the file cannot be decoded (the reason)"},
    503: UNAVAILABLE,
}
# The `file` part's media types (the server trusts the bytes, not the part's Content-Type header).
UPLOAD_BODY = {"requestBody": {"content": {"multipart/form-data": {
    "encoding": {"file": {"contentType": ", ".join(UPLOAD_MEDIA_TYPES)}}}}}}


@router.post("/search", response_model=SearchResponse, responses=UPLOAD_ERRORS, openapi_extra=UPLOAD_BODY)
async def search(
    state: State,
    k: K,
    file: UploadFile = File(..., description="an image (PNG, JPEG, WebP) or a video"),
    space: SpaceParam = DEFAULT_SPACE,
) -> SearchResponse:
    """Embed the upload with the index's own model and return its nearest videos in `space`."""
    embedded = await embed_upload(state, file)
    hits = await state.run_query(state.search_embedded, embedded, space.value, k)
    return SearchResponse(
        space=space,
        results=[Neighbour(video_id=v, score=s) for v, s in hits],
        n_frames=len(embedded.decoded.frames),
    )

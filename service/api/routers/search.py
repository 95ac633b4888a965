"""Search by upload: nearest catalogue videos to an image or a video file."""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile

from vidstyle.service.api.deps import DEFAULT_SPACE, K, SpaceParam, State
from vidstyle.service.api.routers.upload import embed_upload
from vidstyle.service.api.schemas import ErrorResponse, Neighbour, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])

UPLOAD_ERRORS = {
    413: {"model": ErrorResponse, "description": "file over serve.max_upload_mb"},
    415: {"model": ErrorResponse, "description": "not a supported image or video format"},
    422: {"model": ErrorResponse, "description": "bad parameters, or the file cannot be decoded (reason given)"},
    503: {"model": ErrorResponse, "description": "the model is unavailable or busy"},
}


@router.post("/search", response_model=SearchResponse, responses=UPLOAD_ERRORS)
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

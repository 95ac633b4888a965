"""The catalogue: list, details and thumbnails, similar and recommended videos, adding and deleting videos.

Ids may contain slashes (a folder's relative paths are ids), hence the `:path` converters; the routes with a
suffix are declared before the bare `/v1/videos/{video_id}`, whose `video_id` converter never matches a path
ending in a suffix (`video_ids`: the id rule).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from vidstyle.indexing.recommend import Blend
from vidstyle.service.api import video_ids
from vidstyle.service.api.deps import DEFAULT_SPACE, K, SpaceParam, State, require_api_key
from vidstyle.service.api.routers.search import UPLOAD_BODY, UPLOAD_ERRORS
from vidstyle.service.api.routers.upload import embed_upload
from vidstyle.service.api.schemas import (
    DeleteResponse,
    ErrorResponse,
    IngestResponse,
    Neighbour,
    RecommendDropped,
    RecommendNeighbour,
    RecommendRanking,
    RecommendResponse,
    SimilarResponse,
    VideoDetail,
    VideoPage,
    VideoSummary,
)

router = APIRouter(prefix="/v1/videos", tags=["videos"])

NOT_FOUND = {404: {"model": ErrorResponse, "description": "unknown video_id"}}
WRITE_ERRORS = {
    401: {"model": ErrorResponse, "description": "missing or wrong X-API-Key"},
    403: {"model": ErrorResponse, "description": "writes are disabled (no key configured, or no dataset)"},
    409: {"model": ErrorResponse, "description": "the video's dataset part was removed or damaged outside the "
          "service (the reason says how to recover); nothing was changed"},
}
NewVideoId = Annotated[
    str,
    Form(
        min_length=1, max_length=video_ids.MAX_LENGTH, pattern=video_ids.PATTERN,
        description=f"the id to add the video under: {video_ids.RULE}",
        json_schema_extra={"not": {"pattern": video_ids.RESERVED_PATTERN}},
    ),
    AfterValidator(video_ids.check_new_video_id),
]


@router.get("", response_model=VideoPage)
def list_videos(
    state: State,
    q: Annotated[str, Query(max_length=256, description="case-insensitive substring of the id")] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> VideoPage:
    """Videos in the index, sorted by id."""
    total, page = state.list_videos(q, offset, limit)
    items = [VideoSummary(video_id=vid, n_frames=n_frames) for vid, n_frames in page]
    return VideoPage(total=total, offset=offset, limit=limit, items=items)


@router.get("/{video_id:path}/similar", response_model=SimilarResponse, responses=NOT_FOUND)
async def similar(state: State, video_id: str, k: K, space: SpaceParam = DEFAULT_SPACE) -> SimilarResponse:
    """Nearest videos in style or in content, best first, the video itself left out."""
    hits = await state.run_query(state.similar, video_id, space.value, k)
    return SimilarResponse(video_id=video_id, space=space, results=[Neighbour(video_id=v, score=s) for v, s in hits])


@router.get("/{video_id:path}/recommend", response_model=RecommendResponse, responses=NOT_FOUND)
async def recommend(
    state: State,
    video_id: str,
    k: K,
    style_weight: Annotated[
        float | None, Query(ge=0, le=10, description="default serve.recommend_style_weight")
    ] = None,
    content_weight: Annotated[
        float | None, Query(ge=-10, le=10, description="default serve.recommend_content_weight")
    ] = None,
    near_duplicate: Annotated[
        float | None, Query(ge=-1, le=1, description="content score above which a candidate is dropped; "
                            "default serve.near_duplicate_content")
    ] = None,
    candidates: Annotated[int | None, Query(ge=1, description="style neighbours considered; "
                                            "default serve.recommend_candidates")] = None,
    copy_threshold: Annotated[
        float | None, Query(ge=-1, le=2, description="copy score from which a candidate is a copy of the query "
                            "and dropped (above 1: no copy check); default serve.copy_threshold")
    ] = None,
    style_expansion: Annotated[
        int | None, Query(ge=0, le=100, description="expand the style query over its nearest this many style "
                          "neighbours first (0: off); default serve.recommend_style_expansion")
    ] = None,
    explain: Annotated[bool, Query(description="also list the candidates dropped, with the reason")] = False,
) -> RecommendResponse:
    """Similar but not the same: style neighbours, minus copies and content near-duplicates, re-ranked by a blend."""
    cfg = state.settings.serve
    asked = {"style_weight": style_weight, "content_weight": content_weight, "near_duplicate": near_duplicate,
             "candidates": None if candidates is None else min(candidates, cfg.max_k), "copy_threshold": copy_threshold,
             "style_expansion": style_expansion}
    blend = dataclasses.replace(Blend.from_settings(cfg), **{k: v for k, v in asked.items() if v is not None})
    ranking = RecommendRanking(**blend.as_dict(), copy_check=state.copy_check_available)
    ranked = await state.run_query(state.recommend, video_id, k, blend)
    return RecommendResponse(
        video_id=video_id,
        results=[
            RecommendNeighbour(video_id=r.video_id, score=r.score, style_score=r.style_score,
                               content_score=r.content_score, copy_score=r.copy_score)
            for r in ranked.results
        ],
        ranking=ranking,
        dropped=[
            RecommendDropped(video_id=d.video_id, reason=d.reason, score=d.score, style_score=d.style_score,
                             content_score=d.content_score, copy_score=d.copy_score)
            for d in ranked.dropped
        ] if explain else None,
    )


@router.get(
    "/{video_id:path}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, **NOT_FOUND},
)
def thumbnail(
    state: State, video_id: str, i: Annotated[int, Query(ge=0, description="keyframe number")] = 0
) -> Response:
    """The JPEG thumbnail of keyframe `i`, from the embeddings dataset."""
    # Short cache: a video can be replaced under the same id.
    return Response(state.thumbnail(video_id, i), media_type="image/jpeg", headers={"Cache-Control": "max-age=60"})


@router.get("/{video_id:video_id}", response_model=VideoDetail, responses=NOT_FOUND)
def video_detail(state: State, video_id: str) -> VideoDetail:
    """One video: its keyframe times and how many thumbnails it has."""
    media = state.media(video_id)
    if media is None:
        return VideoDetail(video_id=video_id)
    return VideoDetail(
        video_id=video_id, n_frames=len(media.frame_times), frame_times=media.frame_times,
        thumbnails=len(media.thumbnails),
    )


@router.post(
    "",
    status_code=201,
    response_model=IngestResponse,
    dependencies=[Depends(require_api_key)],
    responses={**WRITE_ERRORS, **UPLOAD_ERRORS},
    openapi_extra=UPLOAD_BODY,
)
async def add_video(
    state: State,
    video_id: NewVideoId,
    file: UploadFile = File(..., description="a video (or an image) to embed and add"),
) -> IngestResponse:
    """Embed the file and add it under `video_id` (replacing a video of that id); persisted before answering."""
    state.check_writable()
    embedded = await embed_upload(state, file)
    source = f"upload:{file.filename or 'file'}"
    replaced = await run_in_threadpool(state.ingest, video_id, embedded, source)
    return IngestResponse(video_id=video_id, n_frames=len(embedded.decoded.frames), replaced=replaced)


@router.delete(
    "/{video_id:video_id}",
    response_model=DeleteResponse,
    dependencies=[Depends(require_api_key)],
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def delete_video(state: State, video_id: str) -> DeleteResponse:
    """Remove the video from the index and the dataset; persisted before answering."""
    await run_in_threadpool(state.delete, video_id)
    return DeleteResponse(video_id=video_id)

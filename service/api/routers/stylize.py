"""Stylisation: render one video's keyframe in the look the learned (CIN) style vector of another predicts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from vidstyle.service.api.deps import State
from vidstyle.service.api.routers.search import UNAVAILABLE
from vidstyle.service.api.schemas import ErrorResponse, StylizeInfo

router = APIRouter(prefix="/v1/stylize", tags=["stylize"])


@router.get("", response_model=StylizeInfo)
async def stylize_info(state: State) -> StylizeInfo:
    """Whether a CIN checkpoint is loaded (the web page shows stylised frames only then)."""
    stylizer = state.stylizer
    return StylizeInfo(available=stylizer.available,
                       checkpoint=stylizer.checkpoint.name if stylizer.checkpoint is not None else None)


@router.get(
    "/render",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}},
        404: {"model": ErrorResponse, "description": "unknown video, or no CIN checkpoint loaded"},
        503: {**UNAVAILABLE, "description": "the CIN model could not be loaded, or the model is busy"},
    },
)
async def stylize_render(
    state: State,
    content: Annotated[str, Query(min_length=1, description="video whose middle keyframe is rendered")],
    like: Annotated[str, Query(min_length=1, description="video whose predicted style is applied")],
    size: Annotated[int, Query(ge=32, le=512, description="side of the square output, pixels")] = 256,
) -> Response:
    """PNG: `content`'s middle keyframe in the style `like`'s CIN bottleneck predicts (`vidstyle stylize`)."""
    png = await state.render_stylized(content, like, size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=60"})

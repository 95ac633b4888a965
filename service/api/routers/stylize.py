"""Stylisation: render one video's keyframe in the look of another, with each configured style-transfer method
(Ghiasi's network by default: the look its `style_cin` vector predicts)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from vidstyle.service.api.deps import State
from vidstyle.service.api.routers.search import UNAVAILABLE
from vidstyle.service.api.schemas import ErrorResponse, StylizeInfo, StylizeMethod

router = APIRouter(prefix="/v1/stylize", tags=["stylize"])

NOTE_HEADER = "X-Stylize-Note"


@router.get("", response_model=StylizeInfo)
async def stylize_info(state: State) -> StylizeInfo:
    """Which methods render (the web page shows one picture per available method); `available` and
    `checkpoint` are about the default method, ghiasi."""
    stylizer = state.stylizer
    return StylizeInfo(available=stylizer.available,
                       checkpoint=stylizer.checkpoint.name if stylizer.checkpoint is not None else None,
                       methods=[StylizeMethod(method=m.method, available=m.available, checkpoint=m.checkpoint,
                                              reason=m.reason) for m in stylizer.methods()])


@router.get(
    "/render",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}},
              "headers": {NOTE_HEADER: {"description": "the known style an N-style method (cin, johnson, "
                                                       "stylebank) used; absent for the others",
                                        "schema": {"type": "string"}}}},
        404: {"model": ErrorResponse, "description": "unknown video, or no checkpoint configured for the method"},
        503: {**UNAVAILABLE, "description": "the method's model could not be loaded, or the model is busy"},
    },
)
async def stylize_render(
    state: State,
    content: Annotated[str, Query(min_length=1, description="video whose middle keyframe is rendered")],
    like: Annotated[str, Query(min_length=1, description="video whose look is applied")],
    size: Annotated[int, Query(ge=32, le=512, description="side of the square output, pixels (gatys: at most "
                                                          "128)")] = 256,
    method: Annotated[Literal["ghiasi", "adain", "cin", "johnson", "stylebank", "gatys"],
                      Query(description="style-transfer method (`vidstyle stylize --method`)")] = "ghiasi",
) -> Response:
    """PNG: `content`'s middle keyframe rendered by `method` in the look of `like`'s keyframes."""
    state.stylizer.check(method)
    out = await state.render_stylized(content, like, size, method)
    headers = {"Cache-Control": "max-age=60"}
    if out.note:
        headers[NOTE_HEADER] = out.note.encode("ascii", "replace").decode()
    return Response(out.png, media_type="image/png", headers=headers)

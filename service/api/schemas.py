"""Request and response models of the HTTP API (the shapes of docs/CONTRACT.md, plus documented extra fields)."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field


class Space(str, Enum):
    style = "style"
    content = "content"


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Neighbour(BaseModel):
    video_id: str
    score: float = Field(description="cosine similarity in the queried space, higher is closer")


class SimilarResponse(BaseModel):
    video_id: str
    space: Space
    results: list[Neighbour] = Field(description="best first; the query video is left out")


class RecommendNeighbour(Neighbour):
    score: float = Field(description="the blend: style_weight * style_score + content_weight * content_score")
    style_score: float
    content_score: float
    copy_score: float | None = Field(
        None, description="aligned-keyframe copy score against the query, less copy_background_weight times the mean "
        "of the two videos' background scores (below copy_threshold, or it would have been dropped); null when no "
        "copy check ran or the descriptors are unknown"
    )


class RecommendDropped(RecommendNeighbour):
    """A candidate left out whatever its scores (`explain=1`)."""

    reason: Literal["copy", "near_duplicate_content"] = Field(
        description="copy: its keyframes align with the query's (copy_score >= copy_threshold); "
        "near_duplicate_content: content_score above near_duplicate_content"
    )


class RecommendRanking(BaseModel):
    """The parameters the ranking used (config defaults, or the query's overrides)."""

    style_weight: float
    content_weight: float
    near_duplicate_content: float = Field(description="candidates with content_score above this were dropped")
    candidates: int = Field(description="style neighbours considered before filtering and re-ranking")
    copy_threshold: float = Field(description="candidates with copy_score at or above this were dropped")
    copy_background_weight: float = Field(
        0.0, description="beta of copy_score = raw score - beta * (bg(query) + bg(candidate)) / 2 (bg: a video's score "
        "against a background set of other footage); 0: the raw score"
    )
    copy_check: bool = Field(description="whether copy checks ran (they need the embeddings dataset)")
    style_expansion: int = Field(
        0, description="style neighbours the query's style vector was expanded over before the search (0: none)"
    )


class RecommendResponse(BaseModel):
    video_id: str
    space: Literal["style"] = Field("style", description="candidates come from the style index")
    results: list[RecommendNeighbour]
    ranking: RecommendRanking
    dropped: list[RecommendDropped] | None = Field(
        None, description="with explain=1: the candidates left out and why, best blended first (copy checks stop "
        "once k results are found, so lower candidates are not checked); absent otherwise"
    )


class SearchResponse(BaseModel):
    space: Space
    results: list[Neighbour]
    n_frames: int = Field(description="frames the upload was decoded into (1 for an image)")


class VideoSummary(BaseModel):
    video_id: str
    n_frames: int | None = Field(None, description="keyframes (and thumbnails) stored; null when unknown")


class VideoPage(BaseModel):
    total: int = Field(description="videos matching the query")
    offset: int
    limit: int
    items: list[VideoSummary]


class VideoDetail(VideoSummary):
    frame_times: list[float] = Field(default_factory=list, description="seconds of each keyframe")
    thumbnails: int = Field(0, description="thumbnails available at /v1/videos/{id}/thumbnail?i=0..n-1")


class IngestResponse(BaseModel):
    video_id: str
    n_frames: int
    replaced: bool = Field(description="true when a video with this id existed and was replaced")


class DeleteResponse(BaseModel):
    video_id: str
    deleted: Literal[True] = True


class StylizeMethod(BaseModel):
    method: Literal["ghiasi", "adain", "cin", "johnson", "stylebank", "gatys"]
    available: bool = Field(description="/v1/stylize/render?method=... renders with it (a configured checkpoint "
                            "that has not failed to load; gatys: stylize.gatys_steps > 0)")
    checkpoint: str | None = Field(None, description="file name of its checkpoint (none for gatys)")
    reason: str | None = Field(None, description="why it is not available")


class StylizeInfo(BaseModel):
    available: bool = Field(description="a CIN checkpoint is configured and loadable; /v1/stylize/render works")
    checkpoint: str | None = Field(None, description="file name of the configured checkpoint")
    methods: list[StylizeMethod] = Field(
        default_factory=list, description="every style-transfer method the render route takes, in the page's order"
    )


class ErrorResponse(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    """One problem FastAPI found with a request (its list-shaped 422 `detail`)."""

    loc: list[str | int] = Field(description="where: e.g. [\"query\", \"k\"] or [\"body\", \"video_id\"]")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class UnprocessableResponse(BaseModel):
    """A 422: the parameters do not validate (a list of issues), or the upload cannot be decoded (a reason)."""

    detail: str | list[ValidationIssue]

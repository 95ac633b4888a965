"""Settings for every stage, loaded from YAML, then `VIDSTYLE_*` environment variables, then CLI flags.

Precedence, lowest to highest: defaults below → `--config FILE` (or `VIDSTYLE_CONFIG`) → environment
(`VIDSTYLE_MODEL__BACKBONE=efficientnet_lite0`, nested keys joined by `__`) → explicit overrides (CLI flags).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from vidstyle.core.errors import VidstyleError


class DecodeSettings(BaseModel):
    max_frames: int = Field(8, ge=1, description="at most this many frames per video")
    min_gap_s: float = Field(1.0, ge=0, description="sampled frames are at least this many seconds apart")
    workers: int = Field(2, ge=1, description="decode worker processes")
    timeout_s: float = Field(120.0, gt=0, description="wall-clock limit for decoding one video")
    memory_mb: int = Field(2048, ge=256, description="address space a decode worker may add to its start-up size")
    max_file_mb: int = Field(2048, ge=1, description="larger files are refused without decoding")
    thumbnail_px: int = Field(160, ge=16, description="long side of the JPEG thumbnails kept per frame")


class ModelSettings(BaseModel):
    backbone: Literal["vgg19", "efficientnet_lite0"] = "vgg19"
    weights_path: Path | None = Field(None, description="explicit weights file; else torch cache, else download")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    batch_size: int = Field(32, ge=1)
    input_size: int = Field(224, ge=32, description="frames are resized to a square of this side on decode")
    style_taps: list[str] | None = Field(None, description="layer names; None = the backbone's table")
    content_taps: list[str] | None = None
    gram_channels: int = Field(22, ge=2, description="Gram sketch: channels kept per style tap (seeded projection)")
    projection_seed: int = 0
    style_representation: Literal["stats", "gram", "cin", "texture", "learned"] = Field(
        "stats", description="what the `style` column holds (cin needs cin_checkpoint, learned a style head)"
    )
    content_mask: bool = Field(True, description="mask static regions (templates, banners) out of content pooling")
    content_mask_share: float = Field(
        0.5, ge=0, lt=1, description="with content_mask: move the moving region's grid box in to the pixel, trimming "
        "edge rows and columns whose temporal spread is under this share of the box's median (regions.refine_box; "
        "0.5 chosen on training three-panel sets, bench/RESULTS.md 'The panel's box to the pixel'); 0: the grid box")
    # Content pass (embedder/features.py): a separate, de-stylised input, chosen by bench/quality_sweep.py.
    content_input_size: int = Field(112, ge=32, description="side of the content pass input (the crop, resized)")
    content_grayscale: bool = Field(True, description="content pass sees luminance only (palette is style)")
    content_blur: float = Field(2.0, ge=0, description="Gaussian sigma (content-input pixels): drops fine texture")
    content_pooling: Literal["avg", "gem"] = Field("avg", description="spatial pooling of the content taps")
    content_norm: Literal["l2", "ssqrt"] = Field("l2", description="per-tap block: L2, or signed sqrt then L2")
    style_norm: Literal["l2", "ssqrt"] = Field("ssqrt", description="per-tap block: L2, or signed sqrt then L2")
    style_colour: float = Field(1.0, ge=0, description="weight (in taps) of an RGB histogram in style_stats; 0 = none")
    # style_texture: luminance texture apart from palette (embedder/features.py).
    texture_scales: list[float] = Field([1.0, 0.5], min_length=1, description="scales of the luminance texture pass")
    style_chroma: float = Field(2.0, ge=0, description="weight (in taps) of the chroma histogram in style_texture")
    style_tone: float = Field(2.0, ge=0, description="weight (in taps) of the tone histogram in style_texture")
    style_head: str | None = Field(
        "auto", description="learned style head (adds style_learned): a checkpoint path, 'auto' = the one shipped "
        "for the backbone if any, null = none",
    )
    style_head_stats: float = Field(
        1.0, ge=0, description="weight of style_stats beside the head's output in style_learned (0 = the head alone)"
    )
    style_head_palette: float = Field(
        0.0, ge=0, description="weight of the RGB histogram beside the head in style_learned, weighed per frame by "
        "how concentrated the palette is (0 = none, the default the training families chose; README, Style vectors)",
    )
    content_contrast: bool = Field(False, description="stretch each content input's luminance to full contrast")
    content_edges: bool = Field(False, description="add the content taps of the input's edge map (line renderings)")
    content_head: str | None = Field(
        None, description="learned content projection (embedder/content_head.py): a checkpoint path, 'auto' = the one "
        "shipped for the backbone if any, null = the hand-built content vector",
    )
    preprocess: Literal["auto", "opencv", "torch"] = Field(
        "auto", description="where frames are prepared for the model: OpenCV per frame on the CPU, or batched torch "
        "ops on the model's device (embedder/preprocess.py); auto = torch on a GPU, OpenCV on a CPU",
    )
    # Learned style (vidstyle.styletransfer): with a checkpoint, embeddings also get a `style_cin` column.
    cin_checkpoint: Path | None = Field(None, description="`vidstyle train-style` checkpoint; adds style_cin")

    @model_validator(mode="after")
    def _cin_needs_checkpoint(self) -> ModelSettings:
        if self.style_representation == "cin" and self.cin_checkpoint is None:
            raise ValueError("style_representation 'cin' needs model.cin_checkpoint (a train-style checkpoint)")
        if self.style_representation == "learned" and self.style_head is None:
            raise ValueError("style_representation 'learned' needs model.style_head (a train-style-head checkpoint "
                             "or 'auto')")
        return self


class EmbedSettings(BaseModel):
    part_rows: int = Field(32, ge=1, description="videos per Parquet part; a crash loses at most one part of work")


class IndexSettings(BaseModel):
    memory_budget_mb: int = Field(4096, ge=1, description="largest index (per space) kept in memory")
    latency_budget_ms: float = Field(5.0, gt=0, description="single-query search latency target")
    index_type: Literal["auto", "flat", "ivf_fastscan", "ivf_flat", "hnsw", "ivf_sq8", "ivf_pq"] = Field(
        "auto", description="auto = chosen from n and the two budgets (see indexing.factory); else forced"
    )
    style_column: str = Field("style", description="EMB_DIR column the style index holds (e.g. style_cin)")
    content_column: str = Field("content", description="EMB_DIR column the content index holds")
    nlist: int | None = Field(None, description="IVF lists; None = sqrt(n), capped by the training sample")
    nprobe: int | None = Field(
        None, ge=1, description="IVF lists probed per query; None = the index's own, measured at build: the fewest "
        "that reach target_recall, within a quarter of latency_budget_ms"
    )
    target_recall: float = Field(
        0.96, gt=0, le=1, description="recall@10 an IVF index's probes are chosen for at build, measured on 200 of "
        "its own vectors against exact search (0.96: two standard errors of that sample above 0.95)"
    )
    hnsw_m: int = 32
    ef_search: int = 64
    ef_construction: int = 80
    pq_bytes: int | None = Field(None, description="IVF-PQ code size; None = from the memory budget")
    train_sample: int = Field(100_000, ge=1000, description="vectors sampled to train IVF/PQ")
    use_gpu: bool = Field(True, description="build and search on GPUs when faiss sees them")
    compact_after: int = Field(
        1000, ge=1, description="writes (adds + deletes) kept in the write-ahead log and the delta index before "
        "the service folds them into the main index files in the background"
    )


class ServeSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(
        1, ge=1, description="server processes on one socket; with more than one they share INDEX_DIR memory-mapped "
        "and take writes through its write-ahead log"
    )
    api_key: SecretStr | None = Field(None, description="required for writes; none configured = writes disabled")
    max_upload_mb: int = Field(64, ge=1)
    recommend_style_weight: float = Field(1.0, description="weight of the style score in recommend's blend")
    recommend_content_weight: float = Field(
        -0.5, description="weight of the content score in the blend; negative favours other subjects (chosen on the "
        "copy benchmark's train split with the normalised copy check, docs/recommend.md)"
    )
    near_duplicate_content: float = Field(
        1.0, description="content similarity above which a video is a near-dup and dropped; 1: none (chosen on the "
        "copy benchmark's train split with the copy check on: docs/recommend.md)"
    )
    copy_threshold: float = Field(
        0.211, ge=-1, le=2, description="copy score (aligned keyframes, normalised by copy_background_weight; "
        "docs/recommend.md) from which a candidate is a copy of the query and never recommended (best F1 on the copy "
        "benchmark's train split: 0.211 for the normalised score, 0.761 for the raw one); above 1: no check"
    )
    copy_background_weight: float = Field(
        1.0, ge=0, le=2, description="beta of the background-normalised copy score S - beta (bg(a) + bg(b)) / 2 that "
        "copy_threshold applies to (docs/recommend.md; chosen on training data); 0: the raw aligned-keyframe score"
    )
    recommend_candidates: int = Field(100, ge=1, description="style neighbours re-ranked by `recommend`")
    recommend_style_expansion: int = Field(
        0, ge=0, le=100, description="recommend's style query expanded over its nearest this many style neighbours "
        "before the candidates are searched (alpha query expansion, docs/recommend.md); 0: the stored vector as is"
    )
    max_k: int = Field(1000, ge=1, description="largest k a query may ask for")
    index_dir: Path | None = Field(None, description="INDEX_DIR to serve (the `serve` argument sets it)")
    emb_dir: Path | None = Field(None, description="embeddings dataset; None = the one the index was built from")
    reconcile: bool = Field(True, description="at startup, make the index hold exactly the dataset's ok videos")
    model_threads: int | None = Field(1, ge=1, description="torch threads for uploads; the rest serve queries")
    max_pending_embeds: int = Field(8, ge=1, description="uploads waiting for the model beyond this get a 503")
    cached_parts: int = Field(64, ge=1, description="dataset parts whose thumbnails are kept in memory")
    access_log: bool = Field(True, description="uvicorn's per-request log lines")
    query_threads: int | None = Field(
        None, ge=0, description="threads running index queries; 0 = on the event loop, no thread hop; None = CPU "
        "cores with one worker process, 0 with several (the processes already use the cores)"
    )
    max_upload_pixels: int = Field(
        3840 * 2160 * 2, ge=1,
        description="largest width x height of an uploaded image or video frame, read from the file's header "
        "before anything is decoded (default: twice a 4K frame)",
    )
    retry_after_s: int = Field(5, ge=1, description="the Retry-After of a 503 (model busy or unavailable)")


class StylizeSettings(BaseModel):
    """Style-transfer checkpoints beside the index: the web page renders a chosen pair with each, and `vidstyle
    eval` / `eval-retrieval` also score the known-style representations of the N-style methods (cin,
    stylebank)."""

    checkpoints: dict[Literal["ghiasi", "cin", "johnson", "stylebank", "adain"], Path] = Field(
        default_factory=dict, description="`vidstyle train-style` checkpoint per method (ghiasi: else "
        "model.cin_checkpoint); e.g. VIDSTYLE_STYLIZE__CHECKPOINTS='{\"stylebank\": \"sb.pt\"}'",
    )
    gatys_steps: int = Field(
        0, ge=0, le=200, description="Gatys renders on the web page, with this many optimisation steps; 0 = left "
        "out (one backbone forward and backward pass per step: seconds per render on a CPU, on the model thread)",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDSTYLE_", env_nested_delimiter="__", extra="forbid")

    decode: DecodeSettings = DecodeSettings()
    model: ModelSettings = ModelSettings()
    embed: EmbedSettings = EmbedSettings()
    index: IndexSettings = IndexSettings()
    serve: ServeSettings = ServeSettings()
    stylize: StylizeSettings = StylizeSettings()


class ConfigError(VidstyleError, ValueError):
    """A config file that cannot be read or does not validate."""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping at the top level")
    return data


def load_settings(
    config_file: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
    recorded: dict[str, Any] | None = None,
) -> Settings:
    """Settings from `recorded`, `config_file` (or `$VIDSTYLE_CONFIG`), the environment and `overrides`, in
    that order of precedence (later wins).

    `recorded` is what a dataset or index says it was made with (e.g. `{"model": {...}}` from EMB_DIR), so that
    a command working on it uses the same model without being told; anything the user sets still wins.
    """
    path = config_file or os.environ.get("VIDSTYLE_CONFIG")
    file_data = _read_yaml(Path(path)) if path else {}

    class _WithFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                env_settings,
                InitSettingsSource(settings_cls, init_kwargs=file_data),
                InitSettingsSource(settings_cls, init_kwargs=recorded or {}),
            )

    try:
        loaded = _WithFile(**(overrides or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} (got {err.get('input')!r})" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
    return Settings.model_validate(loaded.model_dump())

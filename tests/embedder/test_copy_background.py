"""Background-normalised copy scores on real H.264 footage: stored at embed time, computed for older datasets, and
what `recommend` drops with them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.support.paths import OFFLINE_CONFIG
from vidstyle.core.settings import IndexSettings, ServeSettings, load_settings
from vidstyle.embedder import copy_descriptor, dataset
from vidstyle.embedder.copies import match
from vidstyle.embedder.copy_background import BackgroundScores, background_score, normalised, packaged
from vidstyle.embedder.copy_descriptor import describe
from vidstyle.embedder.pipeline import ok_row
from vidstyle.evaluation.copy_benchmark import (
    BACKGROUND_LOOKS,
    BACKGROUND_SEED,
    HELDOUT_LOOKS,
    TRAIN_LOOKS,
    CopyItem,
    _Renderer,
    background_spec,
    splits,
)
from vidstyle.indexing import IndexSet
from vidstyle.indexing.recommend import Blend, CopyLookups, recommend_explained
from vidstyle.media.decode import Decoded, decode_file
from vidstyle.media.looks import looks_in
from vidstyle.media.samples import write_video
from vidstyle.media.sources import VideoSource

SERVE = ServeSettings()
DIMS = {"style": 4, "content": 4}


def _decoded(path: Path) -> Decoded:
    d = load_settings(OFFLINE_CONFIG).decode
    return decode_file(path, 224, d.max_frames, d.min_gap_s)


def _stripes(out: Path) -> Path:
    """Vertical stripes over the whole frame with a small dot moving across: vertical edges everywhere, so its
    copy score runs high against any footage with strong vertical structure (a grid-like look, a city)."""
    frames = []
    for t in range(40):
        f = np.zeros((192, 192, 3), np.uint8)
        for x in range(0, 192, 16):
            f[:, x : x + 8] = 255
        cv2.circle(f, (20 + 3 * t, 96), 6, (128, 128, 128), -1)
        frames.append(f)
    return write_video(out, frames)


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An original, a mirrored and a cropped copy of it, the subject's other shot, a city, and the stripes."""
    out = tmp_path_factory.mktemp("background")
    renderer = _Renderer(out, seed=5)
    items = {"original": CopyItem("t", "cat", 0, "sepia"), "flip": CopyItem("t", "cat", 0, "sepia", ("flip",)),
             "crop": CopyItem("t", "cat", 0, "sepia", ("crop",)), "other-shot": CopyItem("t", "cat", 1, "sepia"),
             "city": CopyItem("t", "city", 0, "sepia")}
    return {**{name: renderer.render(item) for name, item in items.items()}, "stripes": _stripes(out / "stripes.mp4")}


@pytest.fixture(scope="module")
def descriptors(videos: dict[str, Path]) -> dict[str, np.ndarray]:
    return {name: describe(_decoded(path).frames) for name, path in videos.items()}


def _rows(videos: dict[str, Path], names: list[str]) -> list[dict]:
    return [ok_row(VideoSource(name, videos[name]), _decoded(videos[name]),
                   {"style": np.ones(4, np.float32), "content": np.ones(4, np.float32)}, "m:1") for name in names]


def test_the_background_is_training_footage_only() -> None:
    train, test = splits(0)
    assert set(BACKGROUND_LOOKS) <= set(looks_in("train"))
    assert not set(BACKGROUND_LOOKS) & (set(TRAIN_LOOKS) | set(HELDOUT_LOOKS))
    assert BACKGROUND_SEED not in (train.seed, test.seed) and background_spec().edits == train.edits
    assert len(packaged().videos) == 90


def test_embed_stores_the_background_score_and_it_is_read_back(videos: dict[str, Path],
                                                                descriptors: dict[str, np.ndarray],
                                                                tmp_path: Path) -> None:
    part = dataset.write_part(tmp_path, _rows(videos, ["original", "stripes"]), DIMS)
    assert pq.read_schema(part).metadata[dataset.COPY_BACKGROUND_KEY] == packaged().sha256.encode()
    stored = dataset.copy_backgrounds(tmp_path, sha256=packaged().sha256)
    for name in ("original", "stripes"):
        assert stored[name] == pytest.approx(background_score(descriptors[name]), abs=1e-6)
    # Scores against another background set are not comparable: not used.
    assert dataset.copy_backgrounds(tmp_path, sha256="0" * 64) == {"original": None, "stripes": None}
    assert dataset.read_embeddings(tmp_path, {"style": "style"}).video_ids == ["original", "stripes"]


def test_a_video_that_matches_everything_is_normalised_down(descriptors: dict[str, np.ndarray]) -> None:
    bg = {name: background_score(d) for name, d in descriptors.items()}
    footage = ("original", "flip", "crop", "other-shot", "city")
    assert bg["stripes"] > max(bg[n] for n in footage) + 0.03, bg
    # The stripes and the city (unrelated, both full of vertical edges) score almost as high as a real copy; the
    # normalised score opens the gap between them. (The static-pixel weights already lower the pair's raw score,
    # 0.85 -> 0.76 on this footage, so the margins are smaller than before them: 0.049 and 0.037 when written.)
    raw = {pair: match(descriptors[pair[0]], descriptors[pair[1]]).score
           for pair in (("original", "crop"), ("stripes", "city"))}
    norm = {pair: normalised(s, bg[pair[0]], bg[pair[1]], SERVE.copy_background_weight) for pair, s in raw.items()}
    gap_raw = raw[("original", "crop")] - raw[("stripes", "city")]
    gap_norm = norm[("original", "crop")] - norm[("stripes", "city")]
    assert gap_norm > gap_raw + 0.02, (raw, norm)


def test_recommend_drops_a_copy_under_the_normalised_rule(descriptors: dict[str, np.ndarray]) -> None:
    """A real index where the mirrored copy is the query's best neighbour in style: dropped by the shipped rule
    (normalised score, serve.* threshold and weight), with its normalised score; the other shot stays."""
    rng = np.random.default_rng(1)
    ids = ["original", "flip", "other-shot", *(f"v{i}" for i in range(20))]
    style = rng.standard_normal((len(ids), 8)).astype(np.float32)
    style[1] = style[0] * 1.01
    content = rng.standard_normal((len(ids), 6)).astype(np.float32)
    index = IndexSet.from_vectors("m", ids, {"style": style, "content": content}, IndexSettings())

    def lookup(vids: list[str]) -> dict[str, np.ndarray | None]:
        return {v: descriptors.get(v) for v in vids}

    backgrounds = BackgroundScores(lambda vids: {}, lookup)  # nothing stored: computed on first use
    blend = Blend(1.0, -0.5, 1.0, 22, SERVE.copy_threshold, SERVE.copy_background_weight)
    got = recommend_explained(index, "original", 22, blend, CopyLookups(lookup, backgrounds))
    assert [(d.video_id, d.reason) for d in got.dropped] == [("flip", "copy")]
    bg = backgrounds(["original", "flip"])
    expected = match(descriptors["original"], descriptors["flip"]).score - (bg["original"] + bg["flip"]) / 2
    assert got.dropped[0].copy_score == pytest.approx(expected) and expected >= SERVE.copy_threshold
    shot = next(r for r in got.results if r.video_id == "other-shot")  # related footage stays reachable
    assert shot.copy_score is not None and shot.copy_score < SERVE.copy_threshold


def test_a_part_without_stored_background_scores_computes_them_on_first_use(videos: dict[str, Path],
                                                                              descriptors: dict[str, np.ndarray],
                                                                              tmp_path: Path) -> None:
    from vidstyle.service.api.catalog import Catalog

    part = dataset.write_part(tmp_path, _rows(videos, ["original", "city"]), DIMS)
    table = pq.read_table(part)
    kept = {dataset.COPY_DESCRIPTOR_KEY: table.schema.metadata[dataset.COPY_DESCRIPTOR_KEY]}
    pq.write_table(table.drop_columns([dataset.COPY_BACKGROUND_COLUMN]).replace_schema_metadata(kept), part)
    assert dataset.copy_backgrounds(tmp_path, sha256=packaged().sha256) == {"original": None, "city": None}
    catalog = Catalog(tmp_path)
    catalog.load()
    got = catalog.copy_backgrounds(["original", "city", "unknown"])
    assert got["original"] == pytest.approx(background_score(descriptors["original"]))
    assert got["city"] == pytest.approx(background_score(descriptors["city"]))
    assert got["unknown"] is None  # no descriptors: unknown, and the copy check says so


def test_a_part_from_before_copy_descriptors_reads_as_unknown(videos: dict[str, Path], tmp_path: Path) -> None:
    part = dataset.write_part(tmp_path, _rows(videos, ["original", "city"]), DIMS)
    table = pq.read_table(part)
    pq.write_table(table.drop_columns([dataset.COPY_COLUMN, dataset.COPY_BACKGROUND_COLUMN]), part)
    assert dataset.copy_descriptors(tmp_path) == {"original": None, "city": None}
    dataset.write_part(tmp_path, _rows(videos, ["flip"]), DIMS)  # a newer part beside it keeps its descriptors
    got = dataset.copy_descriptors(tmp_path)
    assert got["original"] is None and got["flip"] is not None and got["flip"].shape[1] == 512


def test_descriptors_of_an_earlier_descriptor_version_read_as_unknown(videos: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    """Maps of two descriptor versions keep one shape but do not compare: a part whose metadata names no version
    (written before parts recorded it) or another one gives no descriptors, in the dataset and in the service's
    catalogue, so its videos get no copy verdict instead of a wrong one; a newer part beside it keeps its own."""
    from vidstyle.service.api.catalog import Catalog

    part = dataset.write_part(tmp_path, _rows(videos, ["original", "city"]), DIMS)
    assert pq.read_schema(part).metadata[dataset.COPY_DESCRIPTOR_KEY] == str(copy_descriptor.VERSION).encode()
    table = pq.read_table(part)
    metadata = dict(table.schema.metadata)
    metadata[dataset.COPY_DESCRIPTOR_KEY] = b"2"
    pq.write_table(table.replace_schema_metadata(metadata), part)
    dataset.write_part(tmp_path, _rows(videos, ["flip"]), DIMS)
    got = dataset.copy_descriptors(tmp_path)
    assert got["original"] is None and got["city"] is None and got["flip"].shape[1] == copy_descriptor.DIM
    pq.write_table(table.replace_schema_metadata(None), part)  # as parts were written before they recorded either
    assert dataset.copy_descriptors(tmp_path, ["original"]) == {"original": None}
    catalog = Catalog(tmp_path)
    catalog.load()
    seen = catalog.copy_descriptors(["original", "flip"])
    assert seen["original"] is None and seen["flip"] is not None
    assert catalog.outdated_parts == {part.name}  # what the service warns about at start
    assert catalog.copy_backgrounds(["original"])["original"] is None  # no descriptors: no background either

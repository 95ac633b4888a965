"""`vidstyle eval TRIPLETS` and `vidstyle eval-retrieval LABELS`: read the CSV, embed each file once, score.

The JSON these return is the public contract (docs/CONTRACT.md); everything else (similarities, labels, thumbnails)
stays on the result objects for the human summary and the HTML report.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidstyle.core.settings import Settings
from vidstyle.evaluation.embedding import CACHE_DIRNAME, FileEmbedding, embed_files
from vidstyle.evaluation.errors import EvaluationError
from vidstyle.evaluation.known_styles import add_known_style_vectors
from vidstyle.evaluation.metrics import TripletSims, retrieval_scores, triplet_summary

DEFAULT_KIND = "unspecified"


@dataclass(frozen=True)
class Triplet:
    a: Path
    b: Path
    c: Path
    kind: str = DEFAULT_KIND

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        return self.a, self.b, self.c


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a CSV that must have `required` columns; a user error (ValueError) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise EvaluationError(f"{path} lacks column(s) {missing}; it needs {list(required)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EvaluationError(f"cannot read {path}: {exc}") from exc
    if not rows:
        raise EvaluationError(f"{path} has no rows")
    return rows


def _resolve(base: Path, value: str | None, where: str) -> Path:
    if not value or not value.strip():
        raise EvaluationError(f"empty path in {where}")
    p = Path(value.strip())
    return p if p.is_absolute() else base / p


def read_triplets(path: Path) -> list[Triplet]:
    """Triplets from a CSV with columns a, b, c (relative to the CSV's folder) and optional kind."""
    path = Path(path)
    rows = _read_csv(path, ("a", "b", "c"))
    base = path.parent
    return [
        Triplet(*(_resolve(base, row.get(col), f"{path} row {i + 2} column {col}") for col in "abc"),
                kind=(row.get("kind") or "").strip() or DEFAULT_KIND)
        for i, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Labelled:
    path: Path
    content_id: str
    style_id: str


def read_labels(path: Path) -> list[Labelled]:
    """Items from a CSV with columns path (relative to the CSV's folder), content_id, style_id."""
    path = Path(path)
    rows = _read_csv(path, ("path", "content_id", "style_id"))
    return [Labelled(_resolve(path.parent, r.get("path"), f"{path} row {i + 2}"), str(r["content_id"]),
                     str(r["style_id"])) for i, r in enumerate(rows)]


def style_representations(vectors: dict[str, np.ndarray]) -> list[str]:
    """The style representations present (`style_stats` → `stats`, `style_gram`, `style_cin`, ...)."""
    return sorted(k.removeprefix("style_") for k in vectors if k.startswith("style_"))


def default_cache_dir(csv_path: Path) -> Path:
    return Path(csv_path).resolve().parent / CACHE_DIRNAME


def _warn_failed(failed: dict[Path, str]) -> None:
    for p, reason in list(failed.items())[:5]:
        print(f"warning: cannot embed {p}: {reason}", file=sys.stderr)
    if len(failed) > 5:
        print(f"warning: ... and {len(failed) - 5} more files could not be embedded", file=sys.stderr)


@dataclass
class TripletEval:
    """Scored triplets: per vector name ('style', 'content', 'style_stats', ...) the sims sim(A,C), sim(B,C)."""

    triplets: list[Triplet]
    embeddings: dict[Path, FileEmbedding]
    sims: dict[str, TripletSims]
    representations: list[str]
    skipped: list[Triplet] = field(default_factory=list)

    def _group(self, mask: np.ndarray, style_key: str = "style") -> dict[str, float | int]:
        s, c = self.sims[style_key], self.sims["content"]
        return triplet_summary(TripletSims(s.ac[mask], s.bc[mask]), TripletSims(c.ac[mask], c.bc[mask]))

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(t.kind for t in self.triplets))

    def kind_mask(self, kind: str) -> np.ndarray:
        return np.array([t.kind == kind for t in self.triplets], bool)

    def summary(self) -> dict:
        """The `vidstyle eval --json` object (docs/CONTRACT.md)."""
        every = np.ones(len(self.triplets), bool)
        out: dict = dict(self._group(every))
        out["by_kind"] = {k: self._group(self.kind_mask(k)) for k in self.kinds()}
        out["by_representation"] = {
            r: {"style_accuracy": self._group(every, f"style_{r}")["style_accuracy"]} for r in self.representations
        }
        return out

    def by_kind_and_representation(self) -> dict[str, dict[str, float]]:
        """style accuracy per (representation, kind), for the report."""
        return {r: {k: float(self._group(self.kind_mask(k), f"style_{r}")["style_accuracy"]) for k in self.kinds()}
                for r in self.representations}


def evaluate_triplets(path: Path, settings: Settings, cache_dir: Path | None = None,
                      progress: bool = False) -> TripletEval:
    """Embed every distinct file of the triplets CSV once and score each triplet in every space."""
    triplets = read_triplets(path)
    emb = embed_files([p for t in triplets for p in t.paths], settings, cache_dir, progress=progress)
    add_known_style_vectors(emb, settings, cache_dir, progress)
    failed = {p: e.error for p, e in emb.items() if not e.ok}
    _warn_failed(failed)
    kept = [t for t in triplets if not any(p in failed for p in t.paths)]
    skipped = [t for t in triplets if any(p in failed for p in t.paths)]
    if not kept:
        raise EvaluationError(
            f"no triplet could be scored: none of their files could be embedded ({len(failed)} failed)"
        )
    if skipped:
        print(f"warning: skipped {len(skipped)} of {len(triplets)} triplets with a file that failed",
              file=sys.stderr)
    names = list(emb[kept[0].c].vectors)
    sims = {}
    for name in names:
        a, b, c = (np.stack([emb[getattr(t, col)].vectors[name] for t in kept]) for col in "abc")
        sims[name] = TripletSims.from_vectors(a, b, c)
    return TripletEval(kept, emb, sims, style_representations(emb[kept[0].c].vectors), skipped)


@dataclass
class RetrievalEval:
    items: list[Labelled]
    embeddings: dict[Path, FileEmbedding]
    k: int

    def matrix(self, name: str) -> np.ndarray:
        return np.stack([self.embeddings[i.path].vectors[name] for i in self.items])

    def scores(self, name: str, axis: str) -> dict[str, float]:
        labels = [i.style_id if axis == "style" else i.content_id for i in self.items]
        return retrieval_scores(self.matrix(name), labels, self.k)

    def summary(self) -> dict:
        """The `vidstyle eval-retrieval --json` object (docs/CONTRACT.md)."""
        s, c = self.scores("style", "style"), self.scores("content", "content")
        return {"k": self.k, "style_recall_at_k": s["recall_at_k"], "content_recall_at_k": c["recall_at_k"],
                "style_map": s["map"], "content_map": c["map"]}


def evaluate_retrieval(path: Path, settings: Settings, k: int = 10, cache_dir: Path | None = None,
                       progress: bool = False) -> RetrievalEval:
    if k < 1:
        raise EvaluationError(f"-k must be at least 1, got {k}")
    items = list({i.path: i for i in read_labels(path)}.values())
    emb = embed_files([i.path for i in items], settings, cache_dir, progress=progress)
    add_known_style_vectors(emb, settings, cache_dir, progress)
    failed = {p: e.error for p, e in emb.items() if not e.ok}
    _warn_failed(failed)
    kept = [i for i in items if i.path not in failed]
    if len(kept) < 2:
        raise EvaluationError(f"retrieval needs at least two embedded items, got {len(kept)} ({len(failed)} failed)")
    return RetrievalEval(kept, emb, k)

"""`vidstyle eval --report DIR`: a self-contained HTML page (PNGs inlined) plus the PNGs themselves.

What a reader needs to judge the embedding at a glance: accuracy per representation and per kind; a 2-D PCA
map of the style vectors coloured by style label and of the content vectors coloured by content label (tight,
separate clusters are what a working embedding looks like); and the worst triplets as image strips, because
the failures say more about what the vectors encode than any average does.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from vidstyle.evaluation.triplets import TripletEval  # noqa: E402

WORST = 6


# ---------------------------------------------------------------- labels
def _union_find_groups(pairs: list[tuple[Path, Path]], items: list[Path]) -> dict[Path, str]:
    parent = {p: p for p in items}

    def find(p: Path) -> Path:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for x, y in pairs:
        parent[find(x)] = find(y)
    roots = list(dict.fromkeys(find(p) for p in items))
    names = {r: f"group{i}" for i, r in enumerate(roots)}
    return {p: names[find(p)] for p in items}


def item_labels(result: TripletEval, labels_csv: Path | None) -> tuple[dict[Path, str], dict[Path, str], str]:
    """(style label, content label) per file: from labels.csv when it names every file, else derived from the
    triplets themselves (A~C share style, B~C share content; connected components are the groups)."""
    items = list(dict.fromkeys(p for t in result.triplets for p in t.paths))
    if labels_csv is not None and Path(labels_csv).is_file():
        with Path(labels_csv).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        if rows and {"path", "style_id", "content_id"} <= set(rows[0]):
            base = Path(labels_csv).parent
            style = {(base / r["path"]).resolve(): r["style_id"] for r in rows}
            content = {(base / r["path"]).resolve(): r["content_id"] for r in rows}
            if all(p.resolve() in style for p in items):
                return ({p: style[p.resolve()] for p in items}, {p: content[p.resolve()] for p in items},
                        f"labels from {labels_csv.name}")
    style = _union_find_groups([(t.a, t.c) for t in result.triplets], items)
    content = _union_find_groups([(t.b, t.c) for t in result.triplets], items)
    return style, content, "groups derived from the triplets (A~C share style, B~C share content)"


# ---------------------------------------------------------------- plots
def _save(fig: plt.Figure, path: Path, dpi: int = 110) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def plot_accuracy(result: TripletEval, path: Path) -> Path:
    """Left: style/content/both per kind. Right: style accuracy per representation and kind."""
    summary = result.summary()
    groups = {"all": summary, **summary["by_kind"]}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.arange(len(groups))
    for i, key in enumerate(("style_accuracy", "content_accuracy", "both_accuracy")):
        vals = [g[key] for g in groups.values()]
        bars = ax1.bar(x + (i - 1) * 0.27, vals, 0.27, label=key.removesuffix("_accuracy"))
        ax1.bar_label(bars, fmt="%.2f", fontsize=7)
    ax1.set_xticks(x, [f"{k}\n(n={g['n']})" for k, g in groups.items()])
    ax1.set_ylim(0, 1.08)
    ax1.set_title("triplet accuracy per kind (headline representation)")
    ax1.legend(loc="lower right", fontsize=8)
    per_rep = result.by_kind_and_representation()
    kinds = result.kinds()
    x2 = np.arange(len(kinds) + 1)
    width = 0.8 / max(len(per_rep), 1)
    for i, (rep, by_kind) in enumerate(per_rep.items()):
        vals = [summary["by_representation"][rep]["style_accuracy"]] + [by_kind[k] for k in kinds]
        bars = ax2.bar(x2 + (i - (len(per_rep) - 1) / 2) * width, vals, width, label=rep)
        ax2.bar_label(bars, fmt="%.2f", fontsize=7)
    ax2.set_xticks(x2, ["all", *kinds])
    ax2.set_ylim(0, 1.08)
    ax2.set_title("style accuracy per representation")
    ax2.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The first two principal components (zeros when there is nothing to project)."""
    x = x - x.mean(axis=0)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    out = u[:, :2] * s[:2]
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


def _scatter(ax: plt.Axes, xy: np.ndarray, labels: list[str], title: str) -> None:
    names = sorted(set(labels))
    cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    markers = "osD^v<>P*X"
    for i, name in enumerate(names):
        sel = np.array([lab == name for lab in labels])
        ax.scatter(xy[sel, 0], xy[sel, 1], s=26, color=cmap(i % cmap.N), marker=markers[(i // cmap.N) % len(markers)],
                   label=name, alpha=0.85, edgecolors="none")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(names) <= 30:
        ax.legend(fontsize=6, ncol=2 if len(names) > 12 else 1, loc="center left", bbox_to_anchor=(1.0, 0.5))


def plot_maps(result: TripletEval, style_lab: dict[Path, str], content_lab: dict[Path, str], path: Path) -> Path:
    items = list(style_lab)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, key, labels, what in ((ax1, "style", style_lab, "style"), (ax2, "content", content_lab, "content")):
        vecs = np.stack([result.embeddings[p].vectors[key] for p in items])
        _scatter(ax, pca_2d(vecs), [labels[p] for p in items], f"{what} vectors (PCA), coloured by {what} label")
    return _save(fig, path)


def _thumb(result: TripletEval, p: Path) -> np.ndarray:
    jpeg = result.embeddings[p].thumbnail
    if not jpeg:
        return np.full((96, 96, 3), 200, np.uint8)
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))


def plot_worst(result: TripletEval, axis: str, path: Path, count: int = WORST) -> tuple[Path, int]:
    """Image strips A | B | C of the `count` triplets with the worst margins on `axis` (style or content)."""
    key = "style" if axis == "style" else "content"
    sims = result.sims[key]
    margin = sims.ac - sims.bc if axis == "style" else sims.bc - sims.ac
    order = np.argsort(margin, kind="stable")[:count]
    fig, axes = plt.subplots(len(order), 3, figsize=(7.5, 2.4 * max(len(order), 1)), squeeze=False)
    for row, i in enumerate(order):
        t = result.triplets[i]
        verdict = "right" if margin[i] > 0 else "WRONG"
        for col, (name, p) in enumerate(zip("ABC", t.paths)):
            ax = axes[row, col]
            ax.imshow(_thumb(result, p))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(p.name, fontsize=6)
            title = name
            if name == "A":
                title += f"  {key} sim(A,C)={sims.ac[i]:.3f}"
            elif name == "B":
                title += f"  {key} sim(B,C)={sims.bc[i]:.3f}"
            else:
                title += f"  [{t.kind}] {verdict}"
            ax.set_title(title, fontsize=7, color="black" if margin[i] > 0 else "crimson")
    fig.suptitle(f"worst {len(order)} triplets on {axis} (A,C share style; B,C share content)", fontsize=9)
    return _save(fig, path, dpi=80), int((margin <= 0).sum())


# ---------------------------------------------------------------- page
def _img_tag(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.name)}" style="max-width:100%">'


def _table(summary: dict) -> str:
    rows = [("all", summary), *summary["by_kind"].items()]
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{g['n']}</td><td>{g['style_accuracy']:.3f}</td>"
        f"<td>{g['content_accuracy']:.3f}</td><td>{g['both_accuracy']:.3f}</td></tr>" for k, g in rows
    )
    reps = "".join(f"<tr><td>{html.escape(r)}</td><td>{v['style_accuracy']:.3f}</td></tr>"
                   for r, v in summary["by_representation"].items())
    return (f"<table><tr><th>kind</th><th>n</th><th>style</th><th>content</th><th>both</th></tr>{body}</table>"
            f"<h3>style accuracy per representation</h3><table><tr><th>representation</th><th>style</th></tr>"
            f"{reps}</table>")


def write_triplet_report(result: TripletEval, out_dir: Path, labels_csv: Path | None = None) -> Path:
    """Write DIR/index.html and its PNGs; returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    style_lab, content_lab, label_source = item_labels(result, labels_csv)
    acc = plot_accuracy(result, out_dir / "accuracy.png")
    maps = plot_maps(result, style_lab, content_lab, out_dir / "pca_maps.png")
    worst_style, wrong_style = plot_worst(result, "style", out_dir / "worst_style.png")
    worst_content, wrong_content = plot_worst(result, "content", out_dir / "worst_content.png")
    model = next(iter(result.embeddings.values()))
    skipped = f"<p>{len(result.skipped)} triplets skipped (a file could not be embedded).</p>" if result.skipped else ""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidstyle triplet evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 10px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>Triplet evaluation</h1>
<p>{summary['n']} triplets, {len(result.embeddings)} distinct files ({html.escape(str(model.path.parent))}...).
A triplet is right on style when sim_style(A,C) &gt; sim_style(B,C), right on content when
sim_content(B,C) &gt; sim_content(A,C).</p>{skipped}
{_table(summary)}
<h2>Accuracy</h2>{_img_tag(acc)}
<h2>Maps</h2><p>PCA of the vectors; {html.escape(label_source)}.</p>{_img_tag(maps)}
<h2>Worst triplets on style ({wrong_style} wrong)</h2>{_img_tag(worst_style)}
<h2>Worst triplets on content ({wrong_content} wrong)</h2>{_img_tag(worst_content)}
</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page)
    return index

"""`vidstyle eval-recommend --report DIR`: one self-contained HTML page (PNG inlined) plus the PNG itself.

What a reader needs to judge the copy check at a glance: the ranking figures of each rule per split, the copy
detector beside the content cosine, detection per edit kind, and, per split, the distribution of copy scores for
copies, for other footage of the same subject and for everything else, with the chosen threshold drawn in: the
gap (or overlap) between the first two is what the threshold has to cut.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from vidstyle.evaluation.report import _img_tag, _save, plt


def plot_scores(result: dict, scores: dict[str, dict[str, list[float]]], path: Path) -> Path:
    splits = list(scores)
    fig, axes = plt.subplots(1, len(splits), figsize=(6 * len(splits), 3.6), squeeze=False)
    threshold = result["rules"]["copy_check"]["copy_threshold"]
    for ax, split in zip(axes[0], splits):
        bins = np.linspace(-0.2, 1.0, 49)
        for label, values in scores[split].items():
            ax.hist(values, bins=bins, alpha=0.55, density=True, label=f"{label} ({len(values)})")
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold}")
        ax.set_title(f"copy scores, {split}")
        ax.set_xlabel("mean aligned keyframe similarity")
        ax.legend(fontsize=7)
    return _save(fig, path)


def _rules_table(result: dict) -> str:
    head = ("<tr><th>split</th><th>rule</th><th>copy rate@k</th><th>queries with a copy</th>"
            "<th>style precision@k (ceiling)</th><th>subject repetition@k</th><th>related dropped</th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(split)}</td><td>{html.escape(name)}</td><td>{s['mean_copy_rate_at_k']:.3f}</td>"
        f"<td>{s['queries_with_a_copy']}/{s['queries']}</td><td>{s['mean_style_precision_at_k']:.3f} "
        f"({data['style_precision_ceiling_at_k']:.3f})</td>"
        f"<td>{s['mean_subject_repetition_at_k']:.3f}</td><td>{s['related_dropped']}</td></tr>"
        for split, data in result["splits"].items() for name, s in data["rules"].items()
    )
    return f"<table>{head}{body}</table>"


def _tried_table(result: dict) -> str:
    """The rules the choice was made among, with their training figures (empty when chosen from the config)."""
    if not result["tried"]:
        return ""
    rows = "".join(
        f"<tr><td>{t['style_weight']} / {t['content_weight']}</td><td>{t['near_duplicate_content']}</td>"
        f"<td>{t['train']['mean_copy_rate_at_k']:.3f}</td><td>{t['train']['related_dropped']}</td>"
        f"<td>{t['train']['mean_style_precision_at_k']:.3f}</td>"
        f"<td>{t['train']['mean_subject_repetition_at_k']:.3f}</td></tr>"
        for t in result["tried"]
    )
    return ("<h2>Rules tried on train</h2><table><tr><th>style / content weight</th><th>content threshold</th>"
            "<th>copy rate@k</th><th>related dropped</th><th>style precision@k</th><th>subject repetition@k</th>"
            f"</tr>{rows}</table>")


def _detection_table(result: dict) -> str:
    rows = []
    for split, data in result["splits"].items():
        d = data["detection"]
        edits = ", ".join(f"{html.escape(e)} {v:.2f}" for e, v in d["recall_by_edit"].items())
        rows.append(f"<tr><td>{html.escape(split)}</td><td>{d['copy_micro_ap']:.3f}</td>"
                    f"<td>{d['content_micro_ap']:.3f}</td><td>{d['copy_recall']:.3f}</td>"
                    f"<td>{d['other_footage_flagged']:.3f}</td><td>{d['content_rule_recall']:.3f}</td>"
                    f"<td>{d['content_rule_other_footage_flagged']:.3f}</td><td>{edits}</td></tr>")
    return ("<table><tr><th>split</th><th>µAP copy score</th><th>µAP content cosine</th><th>copies flagged</th>"
            "<th>other footage flagged</th><th>copies over the content threshold</th>"
            "<th>other footage over it</th><th>copies found, by primary edit</th></tr>" + "".join(rows) + "</table>")


def write_recommend_report(result: dict, out_dir: Path) -> Path:
    """Write DIR/index.html (and copy_scores.png when `result` holds `score_samples`); returns the page's path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores = result.get("score_samples", {})
    plot = _img_tag(plot_scores(result, scores, out_dir / "copy_scores.png")) if scores else ""
    rules = "".join(f"<li>{html.escape(n)}: {html.escape(str(r))}</li>" for n, r in result["rules"].items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidstyle recommend evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 10px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>recommend: similar, but not the same</h1>
<p>k = {result['k']}; the copy rule's threshold and blend were chosen on: {html.escape(result['chosen_on'])}.</p>
<ul>{rules}</ul>
<h2>Ranking</h2>{_rules_table(result)}
{_tried_table(result)}
<h2>Copy detection over all pairs</h2>{_detection_table(result)}
<h2>Copy scores</h2>{plot}
</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page)
    return index

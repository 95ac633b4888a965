"""`vidstyle stylize-compare`: every method on every (content, style) pair, as an HTML grid and a table.

One yardstick for all: the perceptual loss of `losses.score` through the configured backbone, with loss scales
computed once from the compared images, so a method's content and style losses are comparable with the others'
(each method trained with its own scales, and AdaIN with a different style loss). Also per method: seconds per
render on this machine, its training time and steps (from the checkpoint), and its trained parameters.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from vidstyle.backbones import frames_to_tensor, load_backbone
from vidstyle.core.files import atomic_write_bytes
from vidstyle.core.settings import Settings
from vidstyle.styletransfer.checkpoint import read_checkpoint
from vidstyle.styletransfer.data import load_middle_frames
from vidstyle.styletransfer.losses import Losses, LossNet, gram, loss_scales
from vidstyle.styletransfer.methods import n_parameters
from vidstyle.styletransfer.model import METHODS, CinConfig
from vidstyle.styletransfer.stylize import StylizeError, Stylizer, load_stylizer, save_png


@dataclass
class MethodRow:
    method: str
    seconds_per_image: float
    train_seconds: float | None  # None: nothing to train (gatys); with --add-style, the base run's too
    train_steps: int | None
    parameters: int  # trained numbers (gatys: the pixels it optimises per image)
    content_loss: float  # mean over the grid, common scales
    style_loss: float
    checkpoint: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    html: Path
    rows: list[MethodRow]

    def markdown(self) -> str:
        lines = ["| method | s / image | training s | steps | parameters | content loss | style loss |",
                 "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            train = "-" if r.train_seconds is None else f"{r.train_seconds:.0f}"
            steps = "-" if r.train_steps is None else str(r.train_steps)
            lines.append(f"| {r.method} | {r.seconds_per_image:.3f} | {train} | {steps} | {r.parameters:,} | "
                         f"{r.content_loss:.3f} | {r.style_loss:.3f} |")
        return "\n".join(lines)


def compare(contents: Path, styles: Path, out: Path, settings: Settings, checkpoints: dict[str, Path],
            size: int = 128, gatys_steps: int = 100, progress: bool = True) -> Comparison:
    """Render, score and write DIR/index.html, DIR/grid.png (the same grid as one image), DIR/table.json,
    DIR/table.md and DIR/img/*.png."""
    unknown = sorted(set(checkpoints) - set(METHODS) | ({"gatys"} & set(checkpoints)))
    if unknown:
        raise StylizeError(f"--checkpoint METHOD=CKPT takes a trained method ({', '.join(METHODS[1:])}), got "
                           f"{', '.join(unknown)}")
    c_frames, c_names = load_middle_frames(contents, size, settings, "content")
    s_frames, s_names = load_middle_frames(styles, size, settings, "style")
    stylizers = [load_stylizer(settings, "gatys", gatys_steps=gatys_steps, device="cpu")]
    stylizers += [load_stylizer(settings, m, checkpoints[m], device="cpu") for m in METHODS if m in checkpoints]
    yardstick = _yardstick(settings, c_frames, s_frames)
    (out / "img").mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(c_frames):
        save_png(frame, out / "img" / f"content_{i}.png")
    for j, frame in enumerate(s_frames):
        save_png(frame, out / "img" / f"style_{j}.png")
    rows, renders = [], {}
    pairs = [(i, j) for i in range(len(c_frames)) for j in range(len(s_frames))]
    bar = tqdm(total=len(stylizers) * len(pairs), disable=not progress, desc="stylize-compare", unit="render")
    for st in stylizers:
        seconds, content_losses, style_losses, notes = 0.0, [], [], []
        for i, j in pairs:
            t0 = time.perf_counter()
            image, note = st.render(c_frames[i], s_frames[j][None])
            seconds += time.perf_counter() - t0
            save_png(image, out / "img" / f"{st.method}_{i}_{j}.png")
            renders[st.method, i, j] = image
            losses = _score(yardstick, image, c_frames[i], s_frames[j])
            content_losses.append(losses.content)
            style_losses.append(losses.style)
            if note:
                notes.append(f"{c_names[i]} x {s_names[j]}: {note}")
            bar.update(1)
        rows.append(_row(st, checkpoints.get(st.method), seconds / len(pairs), content_losses, style_losses, notes,
                         size))
    bar.close()
    result = Comparison(out / "index.html", rows)
    atomic_write_bytes(out / "table.json", json.dumps([asdict(r) for r in rows], indent=1).encode())
    atomic_write_bytes(out / "table.md", (result.markdown() + "\n").encode())
    atomic_write_bytes(result.html, _html(rows, c_names, s_names, pairs).encode())
    save_png(_grid(renders, [r.method for r in rows], c_frames, s_frames, pairs), out / "grid.png")
    return result


def _grid(renders: dict, methods: list[str], c_frames: np.ndarray, s_frames: np.ndarray,
          pairs: list[tuple[int, int]]) -> np.ndarray:
    """The HTML grid as one picture (for documents): a header row of content over style, then a row per method."""
    size, label, pad = c_frames.shape[1], 72, 2
    header = [np.concatenate([_half(c_frames[i]), _half(s_frames[j])], axis=0) for i, j in pairs]
    lines = [header] + [[renders[m, i, j] for i, j in pairs] for m in methods]
    canvas = Image.new("RGB", (label + len(pairs) * (size + pad), len(lines) * (size + pad)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (name, tiles) in enumerate(zip(["content / style", *methods], lines)):
        draw.text((4, r * (size + pad) + size // 2 - 6), name, fill="black")
        for c, tile in enumerate(tiles):
            canvas.paste(Image.fromarray(tile), (label + c * (size + pad), r * (size + pad)))
    return np.asarray(canvas)


def _half(frame: np.ndarray) -> np.ndarray:
    """The top half of a header tile: the frame at half height (content above, style below)."""
    h, w = frame.shape[:2]
    return np.asarray(Image.fromarray(frame).resize((w, h // 2), Image.BILINEAR))


def _yardstick(settings: Settings, contents: np.ndarray, styles: np.ndarray) -> LossNet:
    backbone = load_backbone(settings.model.backbone, settings.model.weights_path)
    net = LossNet(CinConfig(method="gatys", backbone=settings.model.backbone), backbone)
    net.config.loss_scales = loss_scales(net, contents, styles, "cpu")
    return net


@torch.no_grad()
def _score(net: LossNet, image: np.ndarray, content: np.ndarray, style: np.ndarray) -> Losses:
    c_taps = net.loss_trunk(frames_to_tensor(content[None], "cpu"))
    s_taps = net.loss_trunk(frames_to_tensor(style[None], "cpu"))
    grams = {t: gram(s_taps[t]) for t in net.config.style_taps}
    return net(frames_to_tensor(image[None], "cpu"), c_taps, grams)


def _row(st: Stylizer, ckpt: Path | None, seconds: float, content: list[float], style: list[float],
         notes: list[str], size: int) -> MethodRow:
    if st.model is None:
        train_s, steps, params = None, None, 3 * size * size
    else:
        payload = read_checkpoint(ckpt)
        base = payload.get("data", {}).get("base", {})  # an --add-style run: its base model's training too
        train_s = float(payload.get("seconds", 0.0)) + float(base.get("seconds", 0.0))
        steps, params = int(payload.get("step", 0)) + int(base.get("steps", 0)), n_parameters(st.model)
    return MethodRow(st.method, seconds, train_s, steps, params, float(np.mean(content)), float(np.mean(style)),
                     None if ckpt is None else str(ckpt), notes)


def _html(rows: list[MethodRow], c_names: list[str], s_names: list[str], pairs: list[tuple[int, int]]) -> str:
    esc = html.escape
    head = "".join(f"<th><img src='img/content_{i}.png' alt=''><img src='img/style_{j}.png' alt=''>"
                   f"<div>{esc(c_names[i])} &times; {esc(s_names[j])}</div></th>" for i, j in pairs)
    body = "".join(
        f"<tr><th class='m'>{esc(r.method)}</th>"
        + "".join(f"<td><img src='img/{esc(r.method)}_{i}_{j}.png' alt='{esc(r.method)}'></td>" for i, j in pairs)
        + "</tr>" for r in rows)
    table = "".join(
        f"<tr><td>{esc(r.method)}</td><td>{r.seconds_per_image:.3f}</td>"
        f"<td>{'-' if r.train_seconds is None else f'{r.train_seconds:.0f}'}</td>"
        f"<td>{'-' if r.train_steps is None else r.train_steps}</td><td>{r.parameters:,}</td>"
        f"<td>{r.content_loss:.3f}</td><td>{r.style_loss:.3f}</td></tr>" for r in rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidstyle: style-transfer methods side by side</title>
<style>body{{font-family:sans-serif;margin:1em}} img{{width:96px;height:96px;image-rendering:auto;margin:1px}}
th div{{font-size:11px;font-weight:normal}} th.m{{text-align:right;padding-right:.5em}}
table.t td,table.t th{{padding:2px 8px;text-align:right}}</style></head><body>
<h1>Style-transfer methods side by side</h1>
<p>Rows: methods; columns: content &times; style (the two inputs above each column).</p>
<table class="grid"><tr><th></th>{head}</tr>{body}</table>
<h2>Cost and losses</h2>
<p>Losses: the perceptual loss through the configured backbone, one set of scales for every method.</p>
<table class="t"><tr><th>method</th><th>s / image</th><th>training s</th><th>steps</th><th>parameters</th>
<th>content loss</th><th>style loss</th></tr>{table}</table>
</body></html>
"""

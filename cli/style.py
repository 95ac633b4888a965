"""`vidstyle train-style` and `vidstyle stylize`: the learned style-transfer models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, fail, settings


def train_style_command(
    content: Annotated[Path, typer.Option("--content", help="folder of content images/videos (keyframes)")],
    styles: Annotated[Path, typer.Option("--styles", help="folder (or file) of style images/videos")],
    out: Annotated[Path, typer.Option("--out", help="checkpoint file to write (and to continue with --resume)")],
    steps: Annotated[int, typer.Option("--steps", min=1, help="total optimisation steps")] = 1000,
    batch: Annotated[int, typer.Option("--batch", min=1, help="content/style pairs per step")] = 4,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="initialisation and batch order")] = 0,
    size: Annotated[int, typer.Option("--size", min=32, help="training image side (multiple of 4)")] = 128,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate")] = 1e-3,
    content_weight: Annotated[float, typer.Option("--content-weight")] = 1.0,
    style_weight: Annotated[float, typer.Option("--style-weight")] = 5.0,
    tv_weight: Annotated[float, typer.Option("--tv-weight")] = 10.0,
    save_every: Annotated[int, typer.Option("--save-every", min=1, help="checkpoint interval in steps")] = 100,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run saved in --out with its own settings "
                                         "(only --steps and --save-every change)")] = False,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="stop (and checkpoint) after this many "
                                                     "seconds of this invocation; --resume goes on")] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch CPU threads (1 is fastest on a "
                                                "busy shared CPU)")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    config: ConfigOpt = None,
) -> None:
    """Train the CIN style transformer and style-prediction network (the `style_cin` embedding)."""
    from vidstyle.styletransfer.model import CinConfig
    from vidstyle.styletransfer.train import train

    loaded = settings(config)
    if size % 4:
        fail(f"--size must be a multiple of 4, got {size}")
    cfg = CinConfig(backbone=loaded.model.backbone, image_size=size, style_size=size, batch=batch, steps=steps,
                    seed=seed, lr=lr, content_weight=content_weight, style_weight=style_weight,
                    tv_weight=tv_weight, save_every=save_every)
    try:
        result = train(content, styles, out, cfg, loaded, device=device, resume=resume, progress=progress,
                       time_limit_s=time_limit, threads=threads)
    except KeyboardInterrupt:
        fail(f"interrupted; the last checkpoint in {out} is kept, rerun with --resume to continue",
             code=INTERRUPTED_EXIT)
    tail = ""
    if result.history:
        last = result.history[-1]
        tail = f", last loss {last['total']:.4g} (style {last['style']:.4g}, content {last['content']:.4g})"
    typer.echo(f"trained {result.steps} steps in {result.seconds:.0f} s{tail} -> {out}")


def stylize_command(
    content: Annotated[Path, typer.Argument(help="image or video whose (middle) frame is rendered")],
    like: Annotated[Path, typer.Option("--like", help="video or image whose style is predicted")],
    out: Annotated[Path, typer.Option("--out", help="PNG to write")],
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="default: model.cin_checkpoint")] = None,
    size: Annotated[int, typer.Option("--size", min=32, help="output side in pixels")] = 256,
    compare: Annotated[bool, typer.Option("--compare", help="write content | style reference | result")] = False,
    config: ConfigOpt = None,
) -> None:
    """Render CONTENT in the style the CIN model predicts from --like."""
    from vidstyle.styletransfer.stylize import stylize_file

    loaded = settings(config)
    path = stylize_file(content, like, out, loaded, checkpoint, size=size, compare=compare)
    typer.echo(f"wrote {path}")


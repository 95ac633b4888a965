"""`vidstyle train-style`, `vidstyle stylize` and `vidstyle stylize-compare`: the seed's style-transfer methods."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, fail, settings

_TRAINED = "ghiasi | cin | johnson | stylebank | adain"
_ALL = "gatys | adain | johnson | stylebank | cin | ghiasi"


def train_style_command(
    out: Annotated[Path | None, typer.Option("--out", help="checkpoint file to write (default with --resume: "
                                             "that checkpoint, updated)")] = None,
    method: Annotated[str, typer.Option("--method", help=f"{_TRAINED}")] = "ghiasi",
    content: Annotated[Path | None, typer.Option("--content", help="folder of content images/videos (keyframes); "
                                                 "default with --resume: the run's own")] = None,
    styles: Annotated[Path | None, typer.Option("--styles", help="folder (or file) of style images/videos; for cin "
                                                "and stylebank each file is one style, johnson takes one")] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="total optimisation steps")] = 1000,
    batch: Annotated[int, typer.Option("--batch", min=1, help="content/style pairs per step")] = 4,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="initialisation and batch order")] = 0,
    size: Annotated[int, typer.Option("--size", min=32, help="training image side (multiple of 8)")] = 128,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate")] = 1e-3,
    content_weight: Annotated[float, typer.Option("--content-weight")] = 1.0,
    style_weight: Annotated[float, typer.Option("--style-weight")] = 5.0,
    tv_weight: Annotated[float, typer.Option("--tv-weight")] = 10.0,
    bank_t: Annotated[int, typer.Option("--bank-t", min=1, help="stylebank: stylising steps per reconstruction "
                                        "step")] = 2,
    save_every: Annotated[int, typer.Option("--save-every", min=1, help="checkpoint interval in steps")] = 100,
    resume: Annotated[Path | None, typer.Option("--resume", metavar="CKPT", help="continue the run saved in CKPT "
                                                "with its own settings (only --steps and --save-every change)")] = None,
    add_style: Annotated[Path | None, typer.Option("--add-style", metavar="IMAGE", help="stylebank: learn one more "
                                                   "style into a copy of --resume CKPT, encoder and decoder "
                                                   "frozen; --steps counts this run")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="stop (and checkpoint) after this many "
                                                     "seconds of this invocation; --resume goes on")] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch CPU threads (1 is fastest on a "
                                                "busy shared CPU)")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    config: ConfigOpt = None,
) -> None:
    """Train a style-transfer model of one of the seed's methods (ghiasi's bottleneck is the `style_cin` vector)."""
    from vidstyle.styletransfer.model import TRAINED_METHODS, CinConfig
    from vidstyle.styletransfer.train import train

    loaded = settings(config)
    if method not in TRAINED_METHODS:
        fail(f"--method must be one of {_TRAINED} (gatys needs no training: vidstyle stylize --method gatys)")
    if size % 8:
        fail(f"--size must be a multiple of 8, got {size}")
    out = out or resume
    if out is None:
        fail("give --out CKPT (or --resume CKPT to continue a run)")
    cfg = CinConfig(method=method, backbone=loaded.model.backbone, image_size=size, style_size=size, batch=batch,
                    steps=steps, seed=seed, lr=lr, content_weight=content_weight, style_weight=style_weight,
                    tv_weight=tv_weight, bank_t=bank_t, save_every=save_every)
    try:
        result = train(content, styles, out, cfg, loaded, device=device, resume=resume, add_style=add_style,
                       progress=progress, time_limit_s=time_limit, threads=threads)
    except KeyboardInterrupt:
        fail(f"interrupted; the last checkpoint in {out} is kept, rerun with --resume {out} to continue",
             code=INTERRUPTED_EXIT)
    tail = ""
    if result.history:
        last = result.history[-1]
        tail = f", last loss {last['total']:.4g} (style {last['style']:.4g}, content {last['content']:.4g})"
    typer.echo(f"trained {result.steps} steps in {result.seconds:.0f} s{tail} -> {out}")


def stylize_command(
    content: Annotated[Path, typer.Argument(help="image or video whose (middle) frame is rendered")],
    like: Annotated[list[Path], typer.Option("--like", help="video or image whose style is used; twice with "
                                             "--mask")],
    out: Annotated[Path, typer.Option("--out", help="PNG to write")],
    method: Annotated[str | None, typer.Option("--method", help=f"{_ALL} (default: the checkpoint's; ghiasi)")] = None,
    checkpoint: Annotated[Path | None, typer.Option("--checkpoint", help="default: model.cin_checkpoint")] = None,
    mask: Annotated[Path | None, typer.Option("--mask", help="stylebank: grey image, white takes the first --like's "
                                              "style, black the second's")] = None,
    size: Annotated[int, typer.Option("--size", min=32, help="output side in pixels")] = 256,
    steps: Annotated[int, typer.Option("--steps", min=1, help="gatys: optimisation steps")] = 100,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch CPU threads")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="write content | style reference | result")] = False,
    config: ConfigOpt = None,
) -> None:
    """Render CONTENT in the style of --like with one of the seed's methods."""
    import torch

    from vidstyle.styletransfer.stylize import stylize_file

    loaded = settings(config)
    if threads:
        torch.set_num_threads(threads)
    path, note = stylize_file(content, like, out, loaded, checkpoint, size=size, compare=compare, method=method,
                              mask=mask, gatys_steps=steps)
    typer.echo(f"wrote {path}" + (f": {note}" if note else ""))


def stylize_compare_command(
    contents: Annotated[Path, typer.Argument(help="folder (or file) of content images/videos")],
    styles: Annotated[Path, typer.Argument(help="folder (or file) of style images/videos")],
    out: Annotated[Path, typer.Option("--out", help="folder for index.html, table.json, table.md and the renders")],
    checkpoint: Annotated[list[str] | None, typer.Option("--checkpoint", metavar="METHOD=CKPT", help="a trained "
                                                         "model to compare (repeat); gatys always runs")] = None,
    size: Annotated[int, typer.Option("--size", min=32, help="render side in pixels")] = 128,
    steps: Annotated[int, typer.Option("--steps", min=1, help="gatys: optimisation steps")] = 100,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="torch CPU threads")] = None,
    config: ConfigOpt = None,
) -> None:
    """Render every content in every style with every method: an HTML grid and a table of cost and losses."""
    import torch

    from vidstyle.styletransfer.compare import compare

    loaded = settings(config)
    if threads:
        torch.set_num_threads(threads)
    ckpts: dict[str, Path] = {}
    for item in checkpoint or []:
        name, sep, path = item.partition("=")
        if not sep or not path:
            fail(f"--checkpoint takes METHOD=CKPT, got {item!r}")
        ckpts[name] = Path(path)
    result = compare(contents, styles, out, loaded, ckpts, size=size, gatys_steps=steps)
    typer.echo(result.markdown())
    typer.echo(f"wrote {result.html}")

"""`vidstyle train-style-head` and `train-content-head`: the learned heads for the configured backbone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidstyle.cli.common import INTERRUPTED_EXIT, ConfigOpt, fail, settings


def train_style_head_command(
    out: Annotated[Path, typer.Option("--out", help="head checkpoint to write (a .state file beside it resumes)")],
    steps: Annotated[int, typer.Option("--steps", min=1, help="optimisation steps")] = 600,
    groups: Annotated[int, typer.Option("--groups", min=2, help="groups of scenes x look instances rendered")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="training data, initialisation and batch order")] = 0,
    cache: Annotated[Path | None, typer.Option("--cache", help="folder keeping the training statistics between "
                                                "runs (same data and features are not recomputed)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue from OUT.state with the same settings")] = False,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    config: ConfigOpt = None,
) -> None:
    """Train a style head (supervised contrastive, training look families only) over the frozen backbone.

    With `model.style_head: <OUT>` (or the packaged head, `auto`), embeddings gain `style_learned`; with
    `model.style_representation: learned` it is the `style` the index holds.
    """
    from vidstyle.embedder.train_style_head import HeadTraining, train_style_head

    loaded = settings(config)
    cfg = HeadTraining(steps=steps, groups=groups, seed=seed)
    state = Path(str(out) + ".state")
    if resume and not state.is_file():
        fail(f"nothing to resume: {state} does not exist (run without --resume first)")
    try:
        record = train_style_head(loaded, out, cfg, cache_dir=cache, resume=state if resume else None,
                                  progress=progress)
    except KeyboardInterrupt:
        fail(f"interrupted; rerun with --resume to continue from {state}", code=INTERRUPTED_EXIT)
    typer.echo(f"trained {cfg.steps} steps on {record['frames']} frames of {len(record['looks'])} training looks "
               f"(data {record['data_s']:.0f} s, training {record['train_s']:.0f} s), loss "
               f"{record['loss_first']:.3f} -> {record['loss_last']:.3f} -> {out}")


def train_content_head_command(
    out: Annotated[Path, typer.Option("--out", help="content head checkpoint to write")],
    groups: Annotated[int, typer.Option("--groups", min=2, help="groups of scenes x look instances rendered")] = 96,
    dim: Annotated[int, typer.Option("--dim", min=1, help="dimensions kept (at most the hand-built "
                                                              "vector's)")] = 1024,
    shrinkage: Annotated[float, typer.Option("--shrinkage", min=0.0, help="weight of the identity added to the "
                                             "within-scene covariance (its trace / D units)")] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="training data")] = 0,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    config: ConfigOpt = None,
) -> None:
    """Fit a content head (training look families only) over the configured hand-built content vector.

    With `model.content_head: <OUT>` (or the packaged head, `auto`), the `content` column is the head's output.
    """
    from vidstyle.embedder.train_content_head import ContentHeadTraining, train_content_head

    cfg = ContentHeadTraining(groups=groups, dim=dim, shrinkage=shrinkage, seed=seed)
    record = train_content_head(settings(config), out, cfg, progress=progress)
    typer.echo(f"fitted a {record['dim']}-dim content head on {record['frames']} frames of {record['scenes']} "
               f"training scenes in {len(record['looks'])} training looks ({record['seconds']:.0f} s) -> {out}")

"""The seed's style-transfer methods side by side on one CPU budget: train each, time StyleBank's incremental
training against its full run, and compare every method with `vidstyle stylize-compare`.

    nice -n 10 python bench/style_methods_bench.py --work /tmp/vidstyle-methods --minutes 1.5

1. Data (generated, `media.samples`): training contents are 8 subjects in their natural look; the styles are 4
   looks of one subject (one style file each: the N-style methods learn exactly these four). A fifth look is kept
   for StyleBank's `--add-style`. The comparison renders 2 held-out subjects (never in training) in 3 styles: two
   trained looks and the added one (which only StyleBank learned; the arbitrary-style methods, Gatys, Ghiasi and
   AdaIN, see it as one more unseen image; CIN and Johnson render their nearest known style).
2. Every trained method gets the same budget: `--minutes` of training (one torch thread, 64 px, batch 4, seed 0,
   default weights), checkpointed; Johnson trains on the first style only (one network per style).
3. StyleBank incremental: `--add-style` on the trained model for the same number of steps as the full run had;
   seconds per step of both, and the time each needs until its smoothed style loss first reaches the level the
   full run ended at.
4. `stylize-compare` (Gatys with `--gatys-steps`), its table, and a PNG of the grid (Chromium's screenshot of
   the HTML where Chromium is installed, else the grid.png `stylize-compare` draws).
Writes bench/style_methods_results.json and docs/style_methods_grid.png.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vidstyle.core.settings import load_settings
from vidstyle.media.samples import CONTENTS, LOOKS
from vidstyle.styletransfer.checkpoint import read_checkpoint
from vidstyle.styletransfer.compare import compare
from vidstyle.styletransfer.model import TRAINED_METHODS, CinConfig
from vidstyle.styletransfer.train import train

REPO = Path(__file__).resolve().parents[1]
TRAIN_SUBJECTS = ["cat", "coffee", "astronaut", "rocket", "city", "shapes", "landscape", "room"]
HELD_OUT_SUBJECTS = ["flower", "portrait"]
STYLE_SUBJECT = "china"
STYLES = ["thermal", "pop_art", "watercolour", "halftone"]
ADDED = "cyanotype"


def _write(folder: Path, images: dict[str, np.ndarray], size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        Image.fromarray(np.asarray(img)).convert("RGB").resize((size, size), Image.LANCZOS).save(folder / f"{name}.png")
    return folder


def _frames(folder: Path) -> np.ndarray:
    """The folder's PNGs as (n, S, S, 3) uint8, read here: `train` then starts no decode workers (on a busy CPU,
    spawning them costs more than a short run)."""
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))])


def _photo(subject: str, look: str) -> np.ndarray:
    return np.asarray(LOOKS[look](CONTENTS[subject](np.random.default_rng(0))))


def _reach(history: list[dict], level: float, window: int = 10) -> float | None:
    """Seconds into the run at which the moving mean of the style loss (stylising steps) first reaches `level`."""
    rows = [h for h in history if h["style"] > 0]
    for i in range(window, len(rows) + 1):
        if np.mean([h["style"] for h in rows[i - window : i]]) <= level:
            return rows[i - 1]["seconds"]
    return None


def _screenshot(html: Path, png: Path) -> str:
    """Chromium's screenshot of the HTML grid where Chromium is installed, else the grid.png `compare` drew."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        shutil.copyfile(html.parent / "grid.png", png)
        return "grid.png (no chromium on this machine)"
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
           "--window-size=1500,1100", html.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    return "chromium"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/vidstyle-methods"))
    ap.add_argument("--minutes", type=float, default=1.5, help="training budget per method")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--gatys-steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    # One decode worker with a long timeout: on a crowded CPU, starting workers alone took over 120 s.
    settings = load_settings(REPO / "configs" / "offline.yaml", {"decode": {"workers": 1, "timeout_s": 1800}})
    work = args.work
    contents = _write(work / "contents", {s: _photo(s, "natural") for s in TRAIN_SUBJECTS}, args.size)
    styles = _write(work / "styles", {look: _photo(STYLE_SUBJECT, look) for look in STYLES}, args.size)
    one = _write(work / "one_style", {STYLES[0]: _photo(STYLE_SUBJECT, STYLES[0])}, args.size)
    added = _write(work / "added", {ADDED: _photo(STYLE_SUBJECT, ADDED)}, args.size) / f"{ADDED}.png"
    cmp_contents = _write(work / "cmp_contents", {s: _photo(s, "natural") for s in HELD_OUT_SUBJECTS}, args.size)
    cmp_styles = _write(work / "cmp_styles", {look: _photo(STYLE_SUBJECT, look) for look in [*STYLES[:2], ADDED]},
                        args.size)

    report: dict = {"machine": f"{platform.processor() or platform.machine()}, 2-core shared VM, other jobs running",
                    "torch_threads": args.threads, "minutes_per_method": args.minutes, "size": args.size,
                    "train": {}}
    ckpts: dict[str, Path] = {}
    for method in TRAINED_METHODS:
        ckpt = work / f"{method}.pt"
        if not ckpt.is_file():
            cfg = CinConfig(method=method, image_size=args.size, style_size=args.size, batch=4, steps=1_000_000,
                            save_every=1_000_000)
            train(_frames(contents), _frames(one if method == "johnson" else styles), ckpt, cfg, settings,
                  device="cpu", time_limit_s=args.minutes * 60, threads=args.threads)
        payload = read_checkpoint(ckpt)
        hist = payload["history"]
        styl = [h for h in hist if h["style"] > 0]
        report["train"][method] = {"steps": payload["step"], "seconds": payload["seconds"],
                                   "s_per_step": payload["seconds"] / payload["step"],
                                   "first_style": styl[0]["style"],
                                   "last10_style": float(np.mean([h["style"] for h in styl[-10:]])),
                                   "first_total": hist[0]["total"],
                                   "last10_total": float(np.mean([h["total"] for h in hist[-10:]]))}
        ckpts[method] = ckpt

    # StyleBank: one more style with E, D frozen, as many steps as the full run took.
    full = read_checkpoint(ckpts["stylebank"])
    grown = work / "stylebank_added.pt"
    if not grown.is_file():
        cfg = CinConfig(method="stylebank", steps=full["step"], save_every=1_000_000)
        train(_frames(contents), None, grown, cfg, settings, device="cpu", resume=ckpts["stylebank"],
              add_style=_frames(added.parent), threads=args.threads)
    inc = read_checkpoint(grown)
    level = float(np.mean([h["style"] for h in [h for h in full["history"] if h["style"] > 0][-10:]]))
    report["stylebank_incremental"] = {
        "full": {"steps": full["step"], "seconds": full["seconds"], "s_per_step": full["seconds"] / full["step"],
                 "reach_s": _reach(full["history"], level)},
        "add_style": {"steps": inc["step"], "seconds": inc["seconds"], "s_per_step": inc["seconds"] / inc["step"],
                      "reach_s": _reach(inc["history"], level),
                      "last10_style": float(np.mean([h["style"] for h in inc["history"][-10:]]))},
        "level": level,
    }
    ckpts["stylebank"] = grown

    t0 = time.monotonic()
    result = compare(cmp_contents, cmp_styles, work / "compare", settings, ckpts, size=args.size,
                     gatys_steps=args.gatys_steps)
    report["compare_seconds"] = time.monotonic() - t0
    report["compare"] = json.loads((work / "compare" / "table.json").read_text())
    report["screenshot"] = _screenshot(result.html, REPO / "docs" / "style_methods_grid.png")
    (REPO / "bench" / "style_methods_results.json").write_text(json.dumps(report, indent=1, default=float))
    print(json.dumps({k: report[k] for k in ("train", "stylebank_incremental")}, indent=1, default=float))
    print(result.markdown())


if __name__ == "__main__":
    main()

"""A screenshot of the web page rendering one pair with every configured style-transfer method.

    python bench/stylize_page_screenshot.py INDEX_DIR --checkpoint ghiasi=G.pt --checkpoint cin=C.pt ... \
        --gatys-steps 20 --video cat__sepia --out docs/stylize_methods_page.png

Starts `vidstyle serve INDEX_DIR` on a free 127.0.0.1 port with `VIDSTYLE_STYLIZE__CHECKPOINTS` and
`VIDSTYLE_STYLIZE__GATYS_STEPS` (the offline config), opens `/#video=VIDEO` in headless Chromium (Playwright),
waits until every available method's render has loaded, and writes a screenshot of the page's top and its
per-method section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("--checkpoint", action="append", default=[], help="METHOD=CKPT, repeatable")
    ap.add_argument("--gatys-steps", type=int, default=0)
    ap.add_argument("--video", default="cat__sepia")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "stylize_methods_page.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    checkpoints = dict(item.split("=", 1) for item in args.checkpoint)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDSTYLE_")}
    env |= {"VIDSTYLE_STYLIZE__CHECKPOINTS": json.dumps(checkpoints),
            "VIDSTYLE_STYLIZE__GATYS_STEPS": str(args.gatys_steps), "VIDSTYLE_SERVE__ACCESS_LOG": "false"}
    cmd = [sys.executable, "-m", "vidstyle", "serve", str(args.index), "--host", "127.0.0.1", "--port", str(port),
           "--config", str(REPO / "configs" / "offline.yaml")]
    server = subprocess.Popen(cmd, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        methods = [m["method"] for m in httpx.get(f"{url}/v1/stylize").json()["methods"] if m["available"]]
        print("available:", methods)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{url}/#video={args.video}")
            page.wait_for_function(
                f"() => {{ const imgs = [...document.querySelectorAll('#stylized img.stylized')];"
                f" return imgs.length === {len(methods)} && imgs.every(i => i.complete && i.naturalWidth > 0); }}",
                timeout=600_000,
            )
            page.wait_for_load_state("networkidle")
            page.locator("#stylized").scroll_into_view_if_needed()
            page.locator("#stylized").screenshot(path=str(args.out))
            print("captions:", page.locator("#stylized figcaption").all_inner_texts())
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

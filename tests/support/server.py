"""Helpers for the service tests: a real index of real videos, a real server on loopback.

The index is built once per session from the shared `embedded_catalogue` (real H.264 videos embedded with the
offline backbone). Every server gets its own copy of the dataset and the index, since writes change both.
The server is `vidstyle serve` in a subprocess, so the tests see exactly what a user gets: the CLI, uvicorn,
the lifespan, a separate process with its own model.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.paths import OFFLINE_CONFIG, REPO
from vidstyle.core.settings import Settings

API_KEY = "test-key-0123456789"
MAX_UPLOAD_MB = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`vidstyle serve` in a subprocess on a free loopback port; `start()` waits for /healthz."""

    def __init__(self, index_dir: Path, emb_dir: Path | None, log: Path, api_key: str | None = API_KEY,
                 env: dict[str, str] | None = None, config: Path | None = OFFLINE_CONFIG) -> None:
        self.index_dir, self.emb_dir, self.log = index_dir, emb_dir, log
        self.config = config
        self.api_key = api_key
        self.extra_env = env or {}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Server:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDSTYLE_")}
        env.update({
            "VIDSTYLE_SERVE__MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
            "VIDSTYLE_SERVE__ACCESS_LOG": "false",
            **self.extra_env,
        })
        if self.api_key is not None:
            env["VIDSTYLE_SERVE__API_KEY"] = self.api_key
        cmd = [
            sys.executable, "-m", "vidstyle", "serve", str(self.index_dir),
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]
        if self.config is not None:  # else the model the index's dataset records
            cmd += ["--config", str(self.config)]
        if self.emb_dir is not None:  # else the dataset the index manifest names
            cmd += ["--emb-dir", str(self.emb_dir)]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: uvicorn shuts down gracefully, running the lifespan's cleanup
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def build_index(emb_dir: Path, index_dir: Path, settings: Settings) -> None:
    from vidstyle.indexing import IndexSet

    IndexSet.from_embeddings(emb_dir, settings.index).save(index_dir)


def copy_catalogue(src_emb: Path, src_index: Path, dest: Path) -> tuple[Path, Path]:
    emb, index = dest / "emb", dest / "index"
    shutil.copytree(src_emb, emb)
    shutil.copytree(src_index, index)
    return emb, index

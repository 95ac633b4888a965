"""Loopback load on `GET /v1/videos/{id}/similar` at 100k and 1M vectors, next to a bare echo route.

    python bench/api_bench.py                      # 100k and 1M, 5000 requests per pass, 1 then 8 connections
    python bench/api_bench.py --sizes 100000 --requests 2000 --concurrency 4 --json out.json

For each size a child process builds an `IndexSet` from synthetic unit vectors (clustered like real
embeddings, see `indexing.synthetic`; the real dimensions of the model of configs/offline.yaml) and serves the
real app under uvicorn, plus one extra route, `GET /bench/echo`, that goes through the same middleware and
returns a small JSON body: the cost of the HTTP stack alone. This process then sends a fixed number of
requests over a fixed number of keep-alive connections, with a small asyncio HTTP/1.1 client cheap enough
not to be the bottleneck, to the echo route and to `similar` with random ids, and reports p50/p99 latency and
requests/s. One connection gives the latency without queueing; eight give the throughput, where latency is
mostly queueing (Little's law: about connections / throughput).

Both processes share the machine's cores, as they would behind a local proxy; the numbers are for the whole
loop (client + server), measured the same way for both routes.

`--workers N` (N > 1) serves with `serve.workers: N` as `vidstyle serve` does: the index is saved (it needs
`--index-cache`) and uvicorn starts N worker processes that each open it memory-mapped and shared
(`AppState.open`), each with the echo route too, so the ratio compares like with like.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


# -- the server side (child process) -------------------------------------------------------------------------


def video_id(i: int) -> str:
    return f"v{i:07d}"


def synthetic_vectors(space: str, n: int, dim: int):  # noqa: ANN201 - np.ndarray
    """The bench's vectors of one space: the same for a given (space, n, dim) on every run."""
    from vidstyle.indexing.clustered_vectors import ClusteredGenerator

    seed = {"content": 1, "style": 3}[space]
    return ClusteredGenerator(dim, seed=seed).sample(n, seed=seed + 1)


def build_index(n: int, content_dim: int, style_dim: int, cache: Path | None = None):  # noqa: ANN201
    from vidstyle.core.settings import load_settings
    from vidstyle.indexing import IndexSet

    settings = load_settings(REPO / "configs" / "offline.yaml")  # VIDSTYLE_INDEX__* env vars apply
    ix = settings.index
    budgets = f"{ix.index_type}-{ix.latency_budget_ms:g}ms-{ix.memory_budget_mb}mb"
    key = f"n{n}-content{content_dim}-style{style_dim}-{budgets}"
    saved = cache / key if cache else None
    if saved is not None and (saved / "manifest.json").exists():
        # A 1M IVF-PQ build takes the better part of an hour on 2 loaded cores; reruns reuse it.
        t0 = time.perf_counter()
        index = IndexSet.load(saved, settings.index)
        return settings, index, {"loaded_from_cache_s": round(time.perf_counter() - t0, 1)}, saved
    t0 = time.perf_counter()
    dims = {"content": content_dim, "style": style_dim}
    vectors = {space: synthetic_vectors(space, n, dim) for space, dim in dims.items()}
    t1 = time.perf_counter()
    index = IndexSet.from_vectors("synthetic:bench", [video_id(i) for i in range(n)], vectors, settings.index)
    del vectors
    t2 = time.perf_counter()
    if saved is not None:
        index.save(saved)
    return settings, index, {"generate_s": round(t1 - t0, 1), "build_s": round(t2 - t1, 1)}, saved


def direct_search_ms(index, space: str, n: int, k: int, queries: int = 500) -> dict[str, float]:  # noqa: ANN001
    """`IndexSet.search_id` without HTTP, for comparison: where the time goes."""
    rng = random.Random(7)
    for _ in range(20):
        index.search_id(video_id(rng.randrange(n)), space, k)
    times = []
    for _ in range(queries):
        vid = video_id(rng.randrange(n))
        t0 = time.perf_counter()
        index.search_id(vid, space, k)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def recall_at_k(index, space: str, n: int, dim: int, k: int, queries: int = 200) -> float:  # noqa: ANN001
    """recall@k of `search_id` against exact inner-product search over the same vectors (the query left out)."""
    vectors = synthetic_vectors(space, n, dim)
    rng = np.random.default_rng(11)
    ids = rng.choice(n, size=queries, replace=False)
    scores = vectors[ids] @ vectors.T
    scores[np.arange(queries), ids] = -np.inf
    exact = np.argpartition(-scores, k, axis=1)[:, :k]
    found = 0
    for row, i in enumerate(ids):
        got = {int(v[1:]) for v, _ in index.search_id(video_id(int(i)), space, k)}
        found += len(got & set(exact[row].tolist()))
    return round(found / (queries * k), 4)


def child(args: argparse.Namespace) -> None:
    import uvicorn
    from fastapi import FastAPI

    from vidstyle.service.api import AppState, create_app

    if args.omp_threads:
        import faiss

        faiss.omp_set_num_threads(args.omp_threads)
    settings, index, timings, saved = build_index(args.n, args.content_dim, args.style_dim, args.index_cache)
    settings.serve.access_log = False
    info = {
        "n": len(index),
        "index_type": {space: index.index_type(space) for space in ("content", "style")},
        "direct_search": direct_search_ms(index, args.space, args.n, args.k),
        **timings,
    }
    if args.recall:
        dim = args.content_dim if args.space == "content" else args.style_dim
        info["recall_at_k"] = recall_at_k(index, args.space, args.n, dim, args.k)
    common = {"host": "127.0.0.1", "port": args.port, "log_level": "warning", "access_log": False}
    if args.workers > 1:
        if saved is None:
            raise SystemExit("--workers > 1 serves a saved index: give --index-cache")
        del index
        os.environ[WORKER_INDEX_ENV] = str(saved)
        os.environ[WORKER_COUNT_ENV] = str(args.workers)
        sys.path.insert(0, str(Path(__file__).parent))  # the workers import this module by name
        print("READY " + json.dumps(info), flush=True)
        uvicorn.run("api_bench:worker_app", factory=True, workers=args.workers, **common)
        return
    state = AppState(settings, index)  # no dataset: read-only, like a query replica
    app: FastAPI = with_echo(create_app(state, preload_model=False))
    print("READY " + json.dumps(info), flush=True)
    uvicorn.run(app, **common)


WORKER_INDEX_ENV, WORKER_COUNT_ENV = "VIDSTYLE_BENCH_INDEX", "VIDSTYLE_BENCH_WORKERS"


def with_echo(app):  # noqa: ANN001, ANN201 - FastAPI
    @app.get("/bench/echo")
    async def echo(x: str = "") -> dict[str, str]:
        return {"echo": x}

    return app


def worker_app():  # noqa: ANN201 - uvicorn factory
    """One of `--workers` processes: the saved index opened as `vidstyle serve` opens it with several workers."""
    from vidstyle.core.settings import load_settings
    from vidstyle.service.api import AppState, create_app

    settings = load_settings(REPO / "configs" / "offline.yaml")
    settings.serve.workers = int(os.environ[WORKER_COUNT_ENV])
    settings.serve.access_log = False
    state = AppState.open(Path(os.environ[WORKER_INDEX_ENV]), settings)
    return with_echo(create_app(state, preload_model=False))


# -- the load generator ---------------------------------------------------------------------------------------


@dataclass
class Result:
    route: str
    requests: int
    concurrency: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


async def _one_connection(port: int, paths: list[str], cursor: list[int], latencies: list[float],
                          errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while cursor[0] < len(paths):
            path = paths[cursor[0]]
            cursor[0] += 1
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
    finally:
        writer.close()


async def _load(port: int, paths: list[str], concurrency: int) -> tuple[list[float], int, float]:
    cursor, latencies, errors = [0], [], [0]
    t0 = time.perf_counter()
    await asyncio.gather(*(_one_connection(port, paths, cursor, latencies, errors) for _ in range(concurrency)))
    return latencies, errors[0], time.perf_counter() - t0


def load(port: int, route: str, paths: list[str], concurrency: int) -> Result:
    latencies, errors, seconds = asyncio.run(_load(port, paths, concurrency))
    ms = np.asarray(latencies) * 1000
    return Result(
        route=route, requests=len(paths), concurrency=concurrency, errors=errors, seconds=round(seconds, 3),
        rps=round(len(paths) / seconds, 1),
        p50_ms=round(float(np.percentile(ms, 50)), 3), p90_ms=round(float(np.percentile(ms, 90)), 3),
        p99_ms=round(float(np.percentile(ms, 99)), 3), max_ms=round(float(ms.max()), 3),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_size(n: int, args: argparse.Namespace) -> dict:
    port = free_port()
    cmd = [
        sys.executable, __file__, "--child", "--n", str(n), "--port", str(port), "--space", args.space,
        "--k", str(args.k), "--omp-threads", str(args.omp_threads), "--workers", str(args.workers),
        "--content-dim", str(args.content_dim), "--style-dim", str(args.style_dim),
    ]
    if args.index_cache:
        cmd += ["--index-cache", str(args.index_cache.resolve())]
    if args.recall:
        cmd.append("--recall")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"server for n={n} failed to start (exit {proc.wait()})")
        info = json.loads(line[6:])
        deadline = time.monotonic() + 60
        while True:  # uvicorn binds after READY
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        info["startup_s"] = round(time.perf_counter() - t0, 1)
        print(f"n={n}: {json.dumps(info)}", flush=True)
        rng = random.Random(n)
        similar = [f"/v1/videos/{video_id(rng.randrange(n))}/similar?space={args.space}&k={args.k}"
                   for _ in range(args.requests)]
        echo = [f"/bench/echo?x={video_id(rng.randrange(n))}" for _ in range(args.requests)]
        load(port, "warm-up", similar[: args.requests // 10] + echo[: args.requests // 10], max(args.concurrency))
        results = []
        for concurrency in args.concurrency:
            # Echo before and after, so a drift of the machine during the run shows.
            for route, paths in (("echo", echo), ("similar", similar), ("echo", echo)):
                r = load(port, route, paths, concurrency)
                print(f"  c={concurrency:<3d} {route:8s} {r.rps:8.1f} req/s  p50 {r.p50_ms:7.3f} ms  "
                      f"p99 {r.p99_ms:7.3f} ms  max {r.max_ms:7.1f} ms  errors {r.errors}", flush=True)
                results.append(asdict(r))
        memory = server_memory_mb(proc.pid)
        print(f"  server memory (MB): {memory}", flush=True)
        return {"n": n, "server": info, "results": results, "memory_mb": memory}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def server_memory_mb(pid: int) -> list[dict[str, float]]:
    """RssAnon (the process's own memory) and RssFile (pages of mapped files, shared between processes that map
    the same file) of the server process and of each worker process it started, from /proc."""
    procs = [pid] + [int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                     if _parent(p) == pid]
    out = []
    for p in procs:
        try:
            status = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in status if line.startswith(("RssAnon", "RssFile"))}
        out.append({"pid": p, **{k: round(int(v) / 1024, 1) for k, v in fields.items()}})
    return out


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8],
                        help="connections; 1 gives the unloaded latency, more the throughput under load")
    parser.add_argument("--space", choices=["content", "style"], default="content")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--content-dim", type=int, help="default: the configured model's")
    parser.add_argument("--style-dim", type=int, help="default: the configured model's")
    parser.add_argument("--omp-threads", type=int, default=0, help="faiss OpenMP threads in the server (0: default)")
    parser.add_argument("--index-cache", type=Path, help="save built indexes here and reuse them on reruns")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (serve.workers; more than 1 needs --index-cache)")
    parser.add_argument("--recall", action="store_true",
                        help="also measure recall@k of the queried space against exact search (regenerates vectors)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.content_dim is None or args.style_dim is None:
        from vidstyle.core.settings import load_settings
        from vidstyle.embedder.model import Embedder

        embedder = Embedder(load_settings(REPO / "configs" / "offline.yaml"))
        args.content_dim = args.content_dim or embedder.dims["content"]
        args.style_dim = args.style_dim or embedder.dims["style"]
        embedder.close()
        del embedder
    print(f"machine: {machine()}; dims: content {args.content_dim}, style {args.style_dim}", flush=True)
    report = {
        "machine": machine(), "load_average_before": os.getloadavg(),
        "dims": {"content": args.content_dim, "style": args.style_dim},
        "requests": args.requests, "concurrency": args.concurrency, "space": args.space, "k": args.k,
        "workers": args.workers,
    }
    report["sizes"] = [run_size(n, args) for n in args.sizes]
    for size in report["sizes"]:
        size["summary"] = []
        for concurrency in args.concurrency:
            runs = [r for r in size["results"] if r["concurrency"] == concurrency]
            echo_rps = float(np.mean([r["rps"] for r in runs if r["route"] == "echo"]))
            sim = next(r for r in runs if r["route"] == "similar")
            ratio = sim["rps"] / echo_rps
            size["summary"].append({"concurrency": concurrency, "similar_p50_ms": sim["p50_ms"],
                                    "similar_p99_ms": sim["p99_ms"], "similar_rps": sim["rps"],
                                    "echo_rps": round(echo_rps, 1), "similar_vs_echo_rps": round(ratio, 3)})
            print(f"n={size['n']} c={concurrency}: similar p50 {sim['p50_ms']} ms, p99 {sim['p99_ms']} ms, "
                  f"{sim['rps']} req/s = {100 * ratio:.0f}% of echo's {echo_rps:.0f} req/s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
        main()

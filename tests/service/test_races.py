"""Readers racing writers on one real server: a video deleted while a query runs never turns into a 5xx."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.support.server import API_KEY, Server

pytestmark = pytest.mark.slow

QUERY = "cat__sepia"  # never written: every read of it must succeed
READERS = 4
RUN_S = 4.0
MAX_ROUNDS = 200
MIN_ROUNDS = 5


def _read_loop(url: str, n: int, stop: threading.Event, statuses: Counter, failures: list[str]) -> None:
    """Alternate recommend and similar on one keep-alive connection until `stop`, counting statuses."""
    routes = [
        (f"/v1/videos/{QUERY}/recommend", {"k": 10}),
        (f"/v1/videos/{QUERY}/similar", {"space": "style", "k": 10}),
        (f"/v1/videos/{QUERY}/similar", {"space": "content", "k": 10}),
    ]
    with httpx.Client(base_url=url, timeout=30) as client:
        i = n
        while not stop.is_set():
            path, params = routes[i % len(routes)]
            try:
                r = client.get(path, params=params)
            except httpx.TransportError as exc:  # a dropped keep-alive connection shows up here
                failures.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            statuses[(path.rsplit("/", 1)[-1], r.status_code)] += 1
            if r.status_code >= 500:
                failures.append(f"{path}: {r.status_code} {r.text[:200]}")
            i += 1


def test_reads_survive_a_delete_and_re_add_loop(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        image = client.get(f"/v1/videos/{QUERY}/thumbnail").content  # a small JPEG: a fast embed
        # Once before the race: the first upload waits for the model to load.
        warm = client.post("/v1/videos", data={"video_id": "race/warm"}, files={"file": ("f.jpg", image)},
                           headers={"X-API-Key": API_KEY})
        assert warm.status_code == 201, warm.text
        assert client.delete("/v1/videos/race/warm", headers={"X-API-Key": API_KEY}).status_code == 200
    statuses: Counter = Counter()
    failures: list[str] = []
    writes: Counter = Counter()
    stop = threading.Event()
    readers = [
        threading.Thread(target=_read_loop, args=(server.url, n, stop, statuses, failures)) for n in range(READERS)
    ]
    for t in readers:
        t.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60, headers={"X-API-Key": API_KEY}) as writer:
            deadline = time.monotonic() + RUN_S
            rounds = 0
            # at least MIN_ROUNDS whatever the machine's speed; more while RUN_S lasts
            while rounds < MAX_ROUNDS and (rounds < MIN_ROUNDS or time.monotonic() < deadline):
                vid = f"race/{rounds % 3}"
                add = writer.post("/v1/videos", data={"video_id": vid}, files={"file": ("f.jpg", image)})
                writes[("add", add.status_code)] += 1
                writes[("delete", writer.delete(f"/v1/videos/{vid}").status_code)] += 1
                rounds += 1
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=60)
    assert not failures, (len(failures), failures[:5], statuses)
    assert set(writes) == {("add", 201), ("delete", 200)}, writes
    assert writes[("delete", 200)] == rounds >= MIN_ROUNDS, writes
    assert {status for _, status in statuses} == {200}, statuses
    assert statuses[("recommend", 200)] > 50, statuses

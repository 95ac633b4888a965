"""Prometheus metrics, one registry per app (no process-global state, so tests can build many apps).

Request metrics are labelled by the route *template* (`/v1/videos/{video_id:path}/similar`), never the raw path,
so a crawler walking ids cannot blow up the number of series.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidstyle.service.api.uploads import GUARD_ROUTE_KEY

# Buckets from 0.5 ms: index queries live in the low milliseconds, uploads in seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class _SizeCollector(Collector):
    def __init__(self, sizes: Callable[[], dict[str, int]]) -> None:
        self._sizes = sizes

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("vidstyle_index_videos", "videos in the index, per space", labels=["space"])
        for space, n in self._sizes().items():
            family.add_metric([space], n)
        yield family


class Metrics:
    def __init__(self, index_sizes: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vidstyle_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "vidstyle_http_request_duration_seconds", "time to the end of the response", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.embed_seconds = Histogram(
            "vidstyle_embed_seconds", "decode + model time of one uploaded file", ["outcome"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.writes = Counter("vidstyle_writes", "catalogue writes", ["op"], registry=self.registry)
        self.registry.register(_SizeCollector(index_sizes))


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: it costs a task and a queue per request on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            # The router stores the matched route in the (shared) scope; requests the upload guard answered
            # before routing carry its label; other unmatched paths share one label.
            template = (
                getattr(route, "path_format", None) or getattr(route, "path", None)
                or scope.get(GUARD_ROUTE_KEY) or "unmatched"
            )
            method = scope["method"]
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)
            self.metrics.requests.labels(method, template, str(status)).inc()

"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from vidstyle import __version__
from vidstyle.service.api.deps import QUERY_ERRORS, reject_unknown_query
from vidstyle.service.api.errors import ServiceError
from vidstyle.service.api.methods import method_not_allowed
from vidstyle.service.api.metrics import MetricsMiddleware
from vidstyle.service.api.openapi import with_settings
from vidstyle.service.api.routers import health, search, stylize, videos, web
from vidstyle.service.api.security import SecurityHeaders
from vidstyle.service.api.state import AppState
from vidstyle.service.api.uploads import MULTIPART_SLACK, GuardRule, UploadGuard
from vidstyle.service.api.video_ids import is_video_path

log = logging.getLogger("vidstyle.serve")

DESCRIPTION = """Style and content neighbours of videos.

`similar` answers from one index (style or content); `recommend` takes style neighbours, drops near-duplicates in
content and re-ranks by a blend of both scores (see docs/recommend.md). Writes need the `X-API-Key` header.
"""


def create_app(state: AppState, preload_model: bool = True) -> FastAPI:
    """An app serving `state`; the caller owns building it, the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if preload_model:
            # In the background: queries are answered while the model loads; uploads wait for it.
            state.preload_model()
        try:
            yield
        finally:
            state.close()

    # docs_url=None: /docs is routers.web's page, which the Content-Security-Policy lets run.
    app = FastAPI(title="vidstyle", version=__version__, description=DESCRIPTION, lifespan=lifespan, docs_url=None)
    app.state.vidstyle = state
    serve = state.settings.serve

    app.add_exception_handler(HTTPException, method_not_allowed)
    app.openapi = with_settings(app, serve.max_k)  # type: ignore[method-assign]

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(serve.retry_after_s)} if exc.retry_later else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    for module in (health, videos, search, stylize):
        app.include_router(module.router, dependencies=[Depends(reject_unknown_query)], responses=QUERY_ERRORS)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")

    max_body = serve.max_upload_mb * 2**20 + MULTIPART_SLACK
    rules = [
        GuardRule("POST", "/v1/search", lambda p: p == "/v1/search", max_body, needs_key=False),
        GuardRule("POST", "/v1/videos", lambda p: p == "/v1/videos", max_body, needs_key=True),
        GuardRule("DELETE", "/v1/videos/{video_id}", is_video_path, None, needs_key=True),
    ]
    app.add_middleware(
        UploadGuard, rules=rules, api_key=lambda: serve.api_key.get_secret_value() if serve.api_key else None
    )
    app.add_middleware(SecurityHeaders)
    # Added last, so outermost: it times the guard's early answers too.
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app

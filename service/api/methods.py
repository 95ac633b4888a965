"""405 answers that list every method the path has.

Starlette answers a method a path lacks with the methods of the *first* route matching the path, so
`OPTIONS /v1/videos/x` said `Allow: GET` although `DELETE /v1/videos/x` exists too. The handler below asks
the router, method by method, which ones a route would take.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers fully at the request's path, asked of the router's top-level routes
    (included routers answer for the routes inside them), sorted."""
    routes = request.app.router.routes
    return [
        method for method in METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """FastAPI's HTTP error answer, with a complete `Allow` on a 405."""
    assert isinstance(exc, HTTPException)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    return JSONResponse({"detail": exc.detail}, 405, headers={"Allow": ", ".join(allowed_methods(request))})

"""Dependencies shared by the routers: the app state, the API key check, common query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader

from vidstyle.service.api.schemas import Space
from vidstyle.service.api.state import AppState
from vidstyle.service.api.uploads import check_api_key

# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the threadpool, a
# thread hop per dependency per request, which costs more than everything they do.


async def get_state(request: Request) -> AppState:
    return request.app.state.vidstyle


State = Annotated[AppState, Depends(get_state)]

# auto_error=False: a missing key is reported by `require_api_key` (401 or 403), not as FastAPI's generic 403.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="required for writes")


async def require_api_key(state: State, key: Annotated[str | None, Security(_api_key_header)]) -> None:
    """Writes need the configured key. `UploadGuard` already checked it before the body was read; checking
    again here keeps the route safe on its own and documents the scheme in OpenAPI."""
    configured = state.settings.serve.api_key
    error = check_api_key(configured.get_secret_value() if configured else None, key)
    if error is not None:
        raise error


async def k_param(
    request: Request, k: Annotated[int, Query(ge=1, description="number of results (at most serve.max_k)")] = 10
) -> int:
    limit = request.app.state.vidstyle.settings.serve.max_k
    if k > limit:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(
            [{"type": "less_than_equal", "loc": ("query", "k"), "msg": f"Input should be less than or equal to {limit}",
              "input": k, "ctx": {"le": limit}}]
        )
    return k


K = Annotated[int, Depends(k_param)]
SpaceParam = Annotated[Space, Query(description="style or content")]
DEFAULT_SPACE = Space.style

"""Dependencies shared by the routers: the app state, the API key check, common query parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader

from vidstyle.service.api.schemas import Space, UnprocessableResponse
from vidstyle.service.api.state import AppState
from vidstyle.service.api.uploads import check_api_key

# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the threadpool, a
# thread hop per dependency per request, which costs more than everything they do.


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.vidstyle
    state.sync()  # several worker processes: the others' writes are seen by the next request
    return state


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
        raise RequestValidationError(
            [{"type": "less_than_equal", "loc": ("query", "k"), "msg": f"Input should be less than or equal to {limit}",
              "input": k, "ctx": {"le": limit}}]
        )
    return k


K = Annotated[int, Depends(k_param)]
SpaceParam = Annotated[Space, Query(description="style or content")]
DEFAULT_SPACE = Space.style


async def reject_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare, as FastAPI refuses a bad one (422, its list of issues).

    Ignoring them would answer a misspelt `?K=5` or `?spase=content` with the defaults as if all were well, and
    make the answer depend on whether the video exists (404 before any parameter is looked at, else 200).
    """
    declared = _declared_query_names(request.scope["route"])
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in declared]
    if unknown:
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", name), "msg": "Extra inputs are not permitted",
             "input": request.query_params[name]}
            for name in unknown
        ])


def _declared_query_names(route: Any) -> frozenset[str]:
    """The route's declared query parameters, worked out once per route (on every request it cost more than
    the rest of the check)."""
    names = getattr(route, "_vidstyle_query_names", None)
    if names is None:
        names = frozenset(_query_names(route.dependant))
        route._vidstyle_query_names = names
    return names


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route's signature and of every dependency below it."""
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


# Every route of the API (not the page) runs the check above; the 422 it may answer is declared on each, also where
# FastAPI declares none (a route without parameters). A route's own 422 entry, if any, takes precedence.
QUERY_ERRORS = {422: {"model": UnprocessableResponse, "description": "bad parameters, or a query parameter the "
                      "route does not declare (a list of issues)"}}

"""The web page: one static HTML file with plain JS (no build step); it talks to the API like any client.

The API docs page is a static file too (Swagger UI started by `static/docs.js`) rather than FastAPI's built-in
page, whose inline script the Content-Security-Policy (`security.py`) would block."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/docs")
async def docs_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html", headers={"Cache-Control": "no-cache"})

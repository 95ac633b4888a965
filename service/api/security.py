"""Security headers on every response: what the browser may load and run for the web page, the API docs and
the API itself, and that no page of the service may be framed or have its content type guessed.

The web page is a static HTML file whose only script is `/static/app.js` (no inline script, no inline event
handler), so its policy allows scripts from the service itself and nothing else: an id that slipped into the
page as markup still could not run. The interactive docs load Swagger UI from its CDN; their page is ours too
(`static/docs.html`, started by `static/docs.js`), so no inline script is needed there either.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# img/media blob: the upload preview (an object URL); img data: the page's empty favicon.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'none'; script-src 'self' {DOCS_CDN}; style-src 'self' 'unsafe-inline' {DOCS_CDN} "
    "https://fonts.googleapis.com; font-src https://fonts.gstatic.com; img-src 'self' data: "
    "https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
        (b"referrer-policy", b"same-origin"),
    ]


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to each response start (early answers included)."""

    def __init__(self, app: ASGIApp, docs_paths: Iterable[str] = DOCS_PATHS) -> None:
        self.app = app
        self.docs_paths = tuple(docs_paths)
        self._page = _headers(PAGE_POLICY)
        self._docs = _headers(DOCS_POLICY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope["path"] in self.docs_paths else self._page

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name.decode()] = value.decode()
            await send(message)

        await self.app(scope, receive, send_with_headers)

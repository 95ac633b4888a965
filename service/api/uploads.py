"""Uploads: reject early (size, key) before the body is read, sniff the file type, hand the model a file.

FastAPI parses a multipart body (spooling it to disk) *before* it runs a route's dependencies, so a size cap or
key check done in a dependency would still let an anonymous client make the server swallow a huge body. The
guard below runs first, on the raw ASGI messages: it answers 401/403/413 from the headers when it can, and
stops reading a chunked body as soon as it passes the cap.
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, UploadFile
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidstyle.media import decode

# Multipart framing (boundaries, part headers, the video_id field) on top of the file itself.
MULTIPART_SLACK = 64 * 1024


def check_api_key(configured: str | None, given: str | None) -> HTTPException | None:
    """None when the write may go ahead; else the error to answer (403: writes disabled, 401: bad key)."""
    if configured is None:
        return HTTPException(403, "writes are disabled: no API key is configured (serve.api_key)")
    if given is None:
        return HTTPException(401, "missing X-API-Key header")
    # Constant time, so response timing does not leak how much of a guessed key was right.
    if not hmac.compare_digest(given.encode(), configured.encode()):
        return HTTPException(401, "wrong API key")
    return None


# Where the guard leaves the route template of a request it answered itself (for the metrics' route label).
GUARD_ROUTE_KEY = "vidstyle.guard_route"


@dataclass(frozen=True)
class GuardRule:
    method: str
    route: str  # the route's template, as metrics label it
    matches: Callable[[str], bool]
    max_body: int | None  # bytes, None: no body expected
    needs_key: bool


class UploadGuard:
    """ASGI middleware applying `GuardRule`s (first match wins) before the app reads the request body."""

    def __init__(self, app: ASGIApp, rules: list[GuardRule], api_key: Callable[[], str | None]) -> None:
        self.app = app
        self.rules = rules
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = next((r for r in self.rules if r.method == scope["method"] and r.matches(scope["path"])), None)
        if rule is None:
            await self.app(scope, receive, send)
            return
        scope[GUARD_ROUTE_KEY] = rule.route
        headers = Headers(scope=scope)
        if rule.needs_key and (error := check_api_key(self.api_key(), headers.get("x-api-key"))):
            await _error(error)(scope, receive, send)
            return
        if rule.max_body is None:
            await self.app(scope, receive, send)
            return
        limit = rule.max_body
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _error(_too_large(limit))(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI re-raises an HTTPException met while reading the body, so this becomes a 413.
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> HTTPException:
    mib = (limit - MULTIPART_SLACK) / 2**20
    return HTTPException(413, f"upload over the {mib:.0f} MiB limit (serve.max_upload_mb)")


def _error(exc: HTTPException) -> JSONResponse:
    # Connection: close, because the unread body would otherwise be taken for the next request.
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers={"Connection": "close"})


# -- file type -----------------------------------------------------------------------------------------------


# The formats uploads take: the decoder's, less GIF and BMP (the media types below list exactly these).
UPLOAD_SUFFIXES = frozenset({".png", ".jpg", ".webp", ".avi", ".mp4", ".mov", ".mkv", ".flv", ".mpg", ".ts"})


def sniff_suffix(head: bytes) -> str | None:
    """The suffix the decoder needs for an upload starting with `head` (magic bytes), None when unsupported.

    The client's filename and Content-Type are not trusted: the bytes decide (`media.decode.sniff_suffix`), so
    garbage is a 415 up front and only files that look like a supported format reach the decoder (whose
    failures are 422s).
    """
    suffix = decode.sniff_suffix(head)
    return suffix if suffix in UPLOAD_SUFFIXES else None


SNIFF_BYTES = 512
# What `sniff_suffix` accepts, as media types: the OpenAPI `encoding` of every upload's `file` part.
UPLOAD_MEDIA_TYPES = (
    "image/png", "image/jpeg", "image/webp", "video/mp4", "video/quicktime", "video/x-matroska", "video/webm",
    "video/x-msvideo", "video/x-flv", "video/mpeg", "video/mp2t",
)


def spool_upload(file: UploadFile, max_bytes: int, folder: Path | None = None) -> Path:
    """Check size and type of an upload and copy it to a temp file named with the sniffed suffix.

    Blocking (it copies up to `max_bytes`): run it in a worker thread. Raises 413 (over `max_bytes`) or
    415 (not a supported image or video). The caller deletes the returned file.
    """
    src = file.file
    src.seek(0, 2)
    size = src.tell()
    if size > max_bytes:
        raise HTTPException(
            413,
            f"upload is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit (serve.max_upload_mb)",
        )
    if size == 0:
        raise HTTPException(422, "empty file")
    src.seek(0)
    suffix = sniff_suffix(src.read(SNIFF_BYTES))
    if suffix is None:
        raise HTTPException(
            415,
            "unsupported file type: send a PNG/JPEG/WebP image or a video (MP4, MOV, MKV/WebM, AVI, FLV, MPEG)",
        )
    src.seek(0)
    fd, name = tempfile.mkstemp(prefix="vidstyle-upload-", suffix=suffix, dir=folder)
    with open(fd, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return Path(name)


# -- decoded size --------------------------------------------------------------------------------------------

IMAGE_SUFFIXES = (".png", ".jpg", ".webp")


def frame_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image or of a video's first video stream, from the file's header alone (nothing
    is decoded); None when the header does not say, and then the decoder reports what is wrong. PIL's
    DecompressionBombError (an image far over its own limit) propagates."""
    if path.suffix in IMAGE_SUFFIXES:
        return _image_size(path)
    return _video_size(path)


def _image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:  # lazy: reads the header, not the pixels
                return img.size
    except (OSError, ValueError, SyntaxError):
        return None


def _video_size(path: Path) -> tuple[int, int] | None:
    import av

    try:
        with av.open(str(path)) as container:  # demuxes the headers; no frame is decoded
            stream = next(iter(container.streams.video), None)
            if stream is None:
                return None
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, OSError, ValueError):
        return None
    return (int(width), int(height)) if width and height else None


def check_frame_size(path: Path, max_pixels: int) -> None:
    """413 when the upload's frames are over `max_pixels` (serve.max_upload_pixels), before they are decoded.

    A small file can hold a huge picture (a 400 KB PNG of 12,000 x 12,000 pixels decodes to over 400 MB), so
    the byte cap alone does not bound what decoding costs. Blocking (it reads the header): run it in a thread.
    """
    from PIL import Image

    limit = f"the {max_pixels:,} pixel limit (serve.max_upload_pixels)"
    try:
        size = frame_size(path)
    except Image.DecompressionBombError as exc:
        raise HTTPException(413, f"the upload's image is over {limit} and PIL's own: {exc}") from exc
    if size is not None and size[0] * size[1] > max_pixels:
        raise HTTPException(413, f"the upload's frames are {size[0]} x {size[1]} pixels, over {limit}")

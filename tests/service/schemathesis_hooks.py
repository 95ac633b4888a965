"""Schemathesis hooks for the OpenAPI test (loaded with SCHEMATHESIS_HOOKS): real files for the upload media types.

The schema declares which media types the `file` part may have; JSON Schema cannot say "a decodable PNG", so
the schema-valid uploads Schemathesis sends are drawn here as real, small images of each declared image type.
The video types get no strategy, so Schemathesis sends images only (a video upload costs a second of model time).
"""

from __future__ import annotations

import io

import schemathesis
from hypothesis import strategies as st
from PIL import Image

IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def _images(fmt: str) -> st.SearchStrategy[bytes]:
    @st.composite
    def image(draw: st.DrawFn) -> bytes:
        size = (draw(st.integers(8, 64)), draw(st.integers(8, 64)))
        colour = draw(st.tuples(*[st.integers(0, 255)] * 3))
        buf = io.BytesIO()
        Image.new("RGB", size, colour).save(buf, format=fmt)
        return buf.getvalue()

    return image()


for _media_type, _fmt in IMAGE_FORMATS.items():
    schemathesis.openapi.media_type(_media_type, _images(_fmt))

"""Which strings can name a video in the HTTP API, so that every route of every video can be reached.

Ids may contain slashes (a folder's relative paths are ids), so the routes take the rest of the path as the id
and a video's sub-resources are suffixes: `/v1/videos/{id}/similar`, `/recommend`, `/thumbnail`. An id whose last
`/`-separated part is one of those names would be read as a sub-resource of another video (`a/similar` as the
similar list of `a`), so such ids are refused when a video is added, and the routes that take a bare id never
match a path ending in a sub-resource (the `video_id` path convertor), which leaves those paths to the
sub-resource routes (a DELETE there is a 405, not a delete of another id).
"""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

ROUTE_SUFFIXES = ("similar", "recommend", "thumbnail")
MAX_LENGTH = 256
# Printable, no surrounding blanks, no control characters: ids end up in file names, logs and URLs.
PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
# What the last part of an id may not be (JSON Schema `not` of the id field in OpenAPI).
RESERVED_PATTERN = rf"(^|/)({'|'.join(ROUTE_SUFFIXES)})$"
_RESERVED = re.compile(RESERVED_PATTERN)

RULE = (
    f"1 to {MAX_LENGTH} printable characters, no leading or trailing blank, no control character, and its last "
    f"'/'-separated part is none of {', '.join(repr(s) for s in ROUTE_SUFFIXES)}"
)


def reserved_suffix(video_id: str) -> str | None:
    """The route name `video_id` ends in (as its last `/`-separated part), None when it ends in none."""
    match = _RESERVED.search(video_id)
    return match.group(2) if match else None


def check_new_video_id(video_id: str) -> str:
    """Refuse an id the routes could not reach (pydantic turns the ValueError into a 422 with this reason)."""
    suffix = reserved_suffix(video_id)
    if suffix is not None:
        owner = video_id[: -len(suffix) - 1]
        reached = f"the {suffix} route of video {owner!r}" if owner else f"the {suffix} route"
        raise ValueError(f"video_id must not end in '/{suffix}' or be {suffix!r}: its URL would be {reached}")
    return video_id


def is_video_path(path: str, prefix: str = "/v1/videos/") -> bool:
    """True when `path` names a video itself (`prefix` + an id), not one of its sub-resources."""
    return path.startswith(prefix) and len(path) > len(prefix) and reserved_suffix(path[len(prefix) :]) is None


class VideoIdConvertor(Convertor[str]):
    """`{video_id:video_id}`: the rest of the path, unless its last part is a sub-resource's name."""

    regex = ".+" + "".join(f"(?<!/{s})" for s in ROUTE_SUFFIXES)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("video_id", VideoIdConvertor())

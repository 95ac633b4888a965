"""The video id rule: an id the routes could not reach is refused on add, with the reason (real server)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import API_KEY
from vidstyle.service.api.video_ids import ROUTE_SUFFIXES, check_new_video_id, is_video_path, reserved_suffix

pytestmark = pytest.mark.slow

QUERY = "cat__sepia"
KEY = {"X-API-Key": API_KEY}


def test_the_rule_alone() -> None:
    for vid in ("a/similar", "x/y/recommend", "thumbnail", "similar"):
        assert reserved_suffix(vid) in ROUTE_SUFFIXES
        with pytest.raises(ValueError, match="must not end in"):
            check_new_video_id(vid)
    for vid in ("similar/x", "a/similarity", "a-similar", "my thumbnail", "uploads/clip"):
        assert reserved_suffix(vid) is None and check_new_video_id(vid) == vid
    assert is_video_path("/v1/videos/a/b") and not is_video_path("/v1/videos/a/similar")
    assert not is_video_path("/v1/videos/") and not is_video_path("/v1/search")


@pytest.fixture(scope="module")
def image(server) -> bytes:  # noqa: ANN001
    """A catalogue keyframe (a small JPEG): quick to embed."""
    return httpx.get(f"{server.url}/v1/videos/{QUERY}/thumbnail", timeout=30).content


@pytest.mark.parametrize("bad", ["a/similar", f"{QUERY}/recommend", "deep/path/thumbnail", "thumbnail"])
def test_ids_ending_in_a_route_are_refused(client: httpx.Client, image: bytes, bad: str) -> None:
    r = client.post("/v1/videos", data={"video_id": bad}, files={"file": ("f.jpg", image)}, headers=KEY)
    assert r.status_code == 422, r.text
    (issue,) = r.json()["detail"]
    assert issue["loc"] == ["body", "video_id"] and "must not end in" in issue["msg"], issue
    assert client.get("/v1/videos", params={"q": bad}).json()["total"] == 0


def test_a_route_name_inside_an_id_is_fine(client: httpx.Client, image: bytes) -> None:
    vid = "similar/recommend-me"
    r = client.post("/v1/videos", data={"video_id": vid}, files={"file": ("f.jpg", image)}, headers=KEY)
    assert r.status_code == 201, r.text
    assert client.get(f"/v1/videos/{vid}").json()["video_id"] == vid
    assert client.get(f"/v1/videos/{vid}/similar", params={"k": 1}).json()["video_id"] == vid
    assert client.get(f"/v1/videos/{vid}/recommend", params={"k": 1}).json()["video_id"] == vid
    assert client.delete(f"/v1/videos/{vid}", headers=KEY).status_code == 200
    assert client.get(f"/v1/videos/{vid}").status_code == 404


@pytest.mark.parametrize("headers", [KEY, {}])
def test_delete_on_a_sub_resource_is_405_and_deletes_nothing(client: httpx.Client, headers: dict) -> None:
    r = client.delete(f"/v1/videos/{QUERY}/similar", headers=headers)
    assert r.status_code == 405, r.text
    assert "GET" in r.headers["allow"] and "DELETE" not in r.headers["allow"]
    assert client.get(f"/v1/videos/{QUERY}").status_code == 200


def test_openapi_states_the_rule_and_every_sub_resource_is_reserved(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    subs = {p.rsplit("/", 1)[-1] for p in schema["paths"] if p.startswith("/v1/videos/{video_id}/")}
    assert subs == set(ROUTE_SUFFIXES)
    body = schema["paths"]["/v1/videos"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    field = body["properties"]["video_id"]
    assert field["maxLength"] == 256 and "not" in field and "similar" in field["not"]["pattern"]

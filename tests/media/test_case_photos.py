"""Cases take only photos that exist and that the caller may see; actions carry photos too."""

from __future__ import annotations

from typing import Any

from tests.media import images
from tests.media.conftest import Media

CASES = "/api/v1/cases"


def open_case(media: Media, who: str, photos: list[str]) -> Any:
    """POST a community-loop case (暴露垃圾) at 泗泾's first community."""
    return media.client.post(
        CASES,
        json={
            "source": "grid",
            "category": "event:0102",
            "text": "垃圾堆放",
            "org_code": "310117102001",
            "photos": photos,
        },
        headers=media.login.headers(who),
    )


def test_intake_accepts_only_known_visible_photo_references(media: Media) -> None:
    mine = media.upload("t_grid", images.jpeg_with_gps(200, 150))["ref"]
    theirs = media.upload("t_sheshan", images.jpeg_with_gps(150, 200))["ref"]
    unknown = "photo:" + "f" * 64
    url = "https://open311.example.cn/media/1.jpg"

    created = open_case(media, "t_grid", [mine, url])
    assert created.status_code == 201, created.text
    assert created.json()["photos"] == [mine, url]

    for refs, index in (([unknown], 0), ([mine, theirs], 1)):
        refused = open_case(media, "t_grid", refs)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"] == ["body", "photos", index]
    assert open_case(media, "t_grid", ["photo:" + "a" * 63]).status_code == 201  # not a ref: a name
    assert open_case(media, "t_grid", ["\x00"]).status_code == 422


def test_an_action_keeps_its_photos_in_the_timeline(media: Media) -> None:
    duty, grid = media.login.headers("t_duty"), media.login.headers("t_grid")
    case_id = open_case(media, "t_grid", []).json()["id"]
    for action in ("register", "dispatch"):
        reply = media.client.post(f"{CASES}/{case_id}/actions/{action}", headers=duty)
        assert reply.status_code == 200, reply.text
    before = media.client.get(f"{CASES}/{case_id}/timeline", headers=grid).json()

    unknown = {"photos": ["photo:" + "e" * 64]}
    refused = media.client.post(f"{CASES}/{case_id}/actions/sign", json=unknown, headers=grid)
    assert refused.status_code == 422
    assert media.client.get(f"{CASES}/{case_id}/timeline", headers=grid).json() == before

    ref = media.upload("t_grid", images.jpeg_with_gps(120, 90))["ref"]
    signed = media.client.post(
        f"{CASES}/{case_id}/actions/sign", json={"photos": [ref]}, headers=grid
    )
    assert signed.status_code == 200, signed.text
    last = media.client.get(f"{CASES}/{case_id}/timeline", headers=grid).json()[-1]
    assert last["action"] == "sign" and last["detail"]["photos"] == [ref]
    too_many = {"photos": [ref] * 10}
    assert (
        media.client.post(
            f"{CASES}/{case_id}/actions/start", json=too_many, headers=grid
        ).status_code
        == 422
    )

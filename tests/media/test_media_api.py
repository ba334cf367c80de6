"""The photo API on SQLite and PostgreSQL: sniffing, metadata stripped, limits, bombs, scope."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest
from PIL import Image

from cityops.auth.roles import Role
from tests.auth.conftest import PROBLEM, new_account
from tests.conftest import PASSWORD, Backend
from tests.media import images
from tests.media.conftest import PHOTOS, Media


def fetch(media: Media, who: str, url: str) -> bytes:
    """GET a photo and insist on success."""
    reply = media.client.get(url, headers=media.login.headers(who))
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-content-type-options"] == "nosniff"
    return reply.content


def test_gps_exif_and_comments_are_stripped_and_orientation_applied(media: Media) -> None:
    original = images.jpeg_with_gps(640, 480, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the test JPEG has GPS"
    assert images.SECRET in original

    body = media.upload("t_grid", original)
    assert body["ref"] == f"photo:{body['sha256']}"
    assert body["content_type"] == "image/jpeg"
    # Orientation 6 (rotate 90° clockwise) is applied to the pixels: portrait now.
    assert (body["width"], body["height"]) == (480, 640)

    stored = fetch(media, "t_grid", str(body["url"]))
    clean = Image.open(io.BytesIO(stored))
    assert clean.format == "JPEG" and clean.size == (480, 640)
    assert not clean.getexif(), "no EXIF at all: no GPS, make, model or time"
    assert b"Exif" not in stored and b"CityPhone" not in stored and images.SECRET not in stored
    assert "comment" not in clean.info and "icc_profile" not in clean.info
    red, green, blue = clean.convert("RGB").getpixel((330, 200))  # type: ignore[misc]
    assert red > 180 and green < 90 and blue < 90, "the red square turned with the picture"
    thumb = Image.open(io.BytesIO(fetch(media, "t_grid", str(body["thumb_url"]))))
    assert thumb.format == "JPEG" and max(thumb.size) <= 320 and not thumb.getexif()


def test_png_and_webp_are_cleaned_too(media: Media) -> None:
    png = media.upload("t_grid", images.png_with_text(), "x.png", "image/png")
    stored = fetch(media, "t_grid", str(png["url"]))
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG" and image.mode == "RGBA"
    assert images.SECRET not in stored and not image.getexif() and not image.text

    webp = media.upload("t_grid", images.webp_with_exif(), "x.webp", "image/webp")
    stored = fetch(media, "t_grid", str(webp["url"]))
    image = Image.open(io.BytesIO(stored))
    assert webp["content_type"] == "image/webp" and image.format == "WEBP"
    assert not image.getexif() and b"EXIF" not in stored


def test_the_format_is_sniffed_from_the_bytes_not_the_client(media: Media) -> None:
    # A PNG that the client calls a JPEG is stored as the PNG it is.
    body = media.upload("t_grid", images.png_with_text(120, 80), "photo.jpg", "image/jpeg")
    assert body["content_type"] == "image/png"
    reply = media.client.get(str(body["url"]), headers=media.login.headers("t_grid"))
    assert reply.headers["content-type"] == "image/png"
    # HTML, SVG and GIF announced as JPEG are refused.
    for data in (
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        images.gif(),
    ):
        reply = media.post("t_grid", data, "photo.jpg", "image/jpeg")
        assert reply.status_code == 422, reply.text
        assert reply.headers["content-type"] == PROBLEM
        assert reply.json()["type"] == "/problems/invalid-image"
        assert reply.json()["reason"] == "unsupported"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (images.png_bomb_header, "too_many_pixels"),
        (images.png_too_many_pixels, "too_many_pixels"),
        (images.truncated_jpeg, "corrupt"),
        (lambda: b"\xff\xd8\xff\xe0" + random.Random(0).randbytes(2000), "corrupt"),
        (lambda: b"", "unsupported"),
    ],
)
def test_bombs_and_broken_files_are_422_never_500(media: Media, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    reply = media.post("t_grid", make())
    assert reply.status_code == 422, reply.text
    assert reply.json()["reason"] == reason
    assert reply.json()["errors"][0]["loc"] == ["body", "file"]


def test_large_images_are_scaled_down_and_large_files_refused(media: Media) -> None:
    out = io.BytesIO()
    images.picture(5000, 300).save(out, "PNG")
    body = media.upload("t_grid", out.getvalue(), "wide.png", "image/png")
    assert (body["width"], body["height"]) == (4096, 246)

    too_big = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    reply = media.post("t_grid", too_big)
    assert reply.status_code == 413 and reply.json()["type"] == "/problems/body-too-large"
    way_too_big = too_big + b"\x00" * (200 * 1024)
    reply = media.post("t_grid", way_too_big)
    assert reply.status_code == 413 and reply.json()["type"] == "/problems/body-too-large"


def test_files_are_content_addressed_and_written_atomically(media: Media) -> None:
    data = images.jpeg_with_gps(200, 100)
    first = media.post("t_grid", data)
    again = media.post("t_grid", data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["ref"] == again.json()["ref"] and again.json()["created"] is False
    sha = first.json()["sha256"]
    stored = media.root / "photo" / sha[:2] / sha
    assert stored.is_file() and (media.root / "thumb" / sha[:2] / sha).is_file()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    assert not [p for p in media.root.rglob(".tmp-*")], "no temporary file is left behind"


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    from cityops.media.storage import PhotoStore, Variant

    store = PhotoStore(tmp_path)
    sha = "ab" * 32
    blocker = store.path(sha, Variant.PHOTO)
    (blocker / "inside").mkdir(parents=True)  # a directory where the file should go
    with pytest.raises(OSError):
        store.put(sha, Variant.PHOTO, b"data")
    assert sorted(p.name for p in blocker.parent.iterdir()) == [sha]
    with pytest.raises(ValueError):
        store.path("../../etc/passwd", Variant.PHOTO)


def test_who_may_fetch_a_photo(media: Media, backend: Backend) -> None:
    body = media.upload("t_grid", images.jpeg_with_gps(320, 240))
    url = str(body["url"])
    for who in ("t_grid", "t_sijing", "t_duty", "t_leader"):
        assert media.client.get(url, headers=media.login.headers(who)).status_code == 200, who
    other_town = media.client.get(url, headers=media.login.headers("t_sheshan"))
    assert other_town.status_code == 404 and other_town.headers["content-type"] == PROBLEM
    assert media.client.get(url, headers=media.login.headers("t_admin")).status_code == 403
    media.client.cookies.clear()  # logging in through the API also set a session cookie
    assert media.client.get(url).status_code == 401
    theirs = media.upload("t_sheshan", images.jpeg_with_gps(100, 100))
    assert (
        media.client.get(str(theirs["url"]), headers=media.login.headers("t_grid")).status_code
        == 404
    )

    # A leader reads but never uploads; a system admin does neither.
    assert media.post("t_leader", images.jpeg_with_gps()).status_code == 403
    assert media.post("t_admin", images.jpeg_with_gps()).status_code == 403

    # The uploader keeps its photo after moving to another town; its new scope alone would not.
    mover = new_account(backend, Role.GRID_WORKER, "310117102002", prefix="mover")
    token = media.client.post(
        "/api/v1/auth/login", json={"username": mover.username, "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    own = media.client.post(
        PHOTOS, files={"file": ("a.jpg", images.jpeg_with_gps(90, 60), "image/jpeg")}, headers=auth
    ).json()
    moved = media.client.patch(
        f"/api/v1/accounts/{mover.id}",
        json={"org_code": "310117103001"},
        headers=media.login.headers("t_admin"),
    )
    assert moved.status_code == 200, moved.text
    token = media.client.post(
        "/api/v1/auth/login", json={"username": mover.username, "password": PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert media.client.get(own["url"], headers=auth).status_code == 200
    assert media.client.get(url, headers=auth).status_code == 404


def test_hostile_requests(media: Media) -> None:
    headers = media.login.headers("t_grid")
    get = media.client.get
    assert get(f"{PHOTOS}/photo:xyz", headers=headers).status_code == 422
    assert get(f"{PHOTOS}/{'0' * 65}", headers=headers).status_code == 422
    assert get(f"{PHOTOS}/{'..%2F' * 10}", headers=headers).status_code in (404, 422)
    missing = get(f"{PHOTOS}/photo:{'0' * 64}", headers=headers)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    no_file = media.client.post(PHOTOS, data={"x": "1"}, headers=headers)
    assert no_file.status_code == 422 and no_file.headers["content-type"] == PROBLEM
    garbage = media.client.post(
        PHOTOS,
        content=b"--zz\r\nnot a part\r\n",
        headers={**headers, "content-type": "multipart/form-data; boundary=zz"},
    )
    assert 400 <= garbage.status_code < 500 and garbage.headers["content-type"] == PROBLEM
    as_text = media.client.post(
        PHOTOS, files={"file": ("a.jpg", b"\x00" * 100, "image/jpeg")}, headers=headers
    )
    assert as_text.status_code == 422

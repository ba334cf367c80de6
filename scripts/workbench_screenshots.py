"""Start a demo server, open a few demo cases, and save screenshots of the event workbench.

Run from the repository root with the venv's Python:

    .venv/bin/python scripts/workbench_screenshots.py

Writes docs/img/workbench-list.png, workbench-case.png, mobile-tasks.png and mobile-report.png.
The cases are demo data made by this script. Needs Debian's Chromium and a CJK font, like
scripts/screenshots.py, whose helpers it uses; no request leaves 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import tempfile
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, sync_playwright
from screenshots import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUT,
    REPO,
    cityops_command,
    free_port,
    read_credentials,
    wait_ready,
)
from shapely.geometry import shape

COMMUNITY = "310117102001"
CASES = [
    ("grid", "event:0102", "小区北门外绿化带旁有垃圾堆放，约两立方米"),
    ("mobile", "component:0101", "市民随手拍：路口上水井盖松动，车辆经过有响声"),
    ("mobile", "event:0514", "沿街商铺店外经营，占用人行道"),
    ("grid", "event:0607", "楼道内电动自行车违规充电"),
]


def call(base: str, path: str, token: str, body: Any = None, files: bytes | None = None) -> Any:
    """A JSON (or one-file multipart) request to the demo server."""
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if files is not None:
        boundary = uuid.uuid4().hex
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
                f"Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + files
            + f"\r\n--{boundary}--\r\n".encode()
        )
    elif body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - 127.0.0.1 only
        return json.load(reply)


def demo_photo() -> bytes:
    """A drawn stand-in for a phone photo (labelled as such in the picture)."""
    image = Image.new("RGB", (800, 600), (116, 132, 96))
    draw = ImageDraw.Draw(image)
    draw.rectangle((220, 260, 600, 520), fill=(90, 80, 70))
    draw.ellipse((300, 200, 520, 330), fill=(60, 110, 160))
    draw.text((20, 20), "DEMO PHOTO", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def point(workdir: Path) -> tuple[float, float]:
    """A point inside the demo grid worker's community."""
    with sqlite3.connect(workdir / "var" / "cityops.db") as db:
        (geometry,) = db.execute(
            "SELECT geometry FROM org_unit WHERE parent_code = ? AND level = 'grid' ORDER BY code",
            (COMMUNITY,),
        ).fetchone()
    found = shape(json.loads(geometry)).representative_point()
    return round(found.x, 6), round(found.y, 6)


def prepare(base: str, passwords: dict[str, str], where: tuple[float, float]) -> int:
    """Open the demo cases; move the first one along with a photo. Its id."""
    token = call(
        base, "/api/v1/auth/login", "", {"username": "duty", "password": passwords["duty"]}
    )
    duty = token["access_token"]
    ids = []
    for n, (source, category, text) in enumerate(CASES):
        location = {"lon": where[0] + n * 0.0004, "lat": where[1] - n * 0.0003}
        body = {"source": source, "category": category, "text": text, "location": location}
        ids.append(call(base, "/api/v1/cases", duty, body)["id"])
    photo = call(base, "/api/v1/media/photos", duty, files=demo_photo())["ref"]
    first = ids[0]
    call(base, f"/api/v1/cases/{first}/actions/register", duty, {})
    call(base, f"/api/v1/cases/{first}/actions/dispatch", duty, {"comment": "请居委会组织清运"})
    call(
        base,
        f"/api/v1/cases/{first}/actions/supervise",
        duty,
        {"comment": "今日内办结", "photos": [photo]},
    )
    return int(first)


def shoot(
    browser: Browser, base: str, user: str, password: str, path: str, name: str, **ctx: Any
) -> None:
    """Log in, open a page, save a screenshot; refuse if anything left 127.0.0.1."""
    context = browser.new_context(locale="zh-CN", **ctx)
    page = context.new_page()
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}{path}")
    if page.locator("#case-map").count():
        page.frame_locator("#case-map").locator("body[data-map-state=idle]").wait_for(
            timeout=60_000
        )
    if page.locator("#geo-status").count():
        page.wait_for_selector("#geo-status.geo-ok")
    page.screenshot(path=str(OUT / name))
    context.close()
    outside = [url for url in requested if not url.startswith(f"{base}/")]
    if outside:
        raise SystemExit(f"the portal requested outside the server: {outside}")
    print(f"wrote {(OUT / name).relative_to(REPO)}")


def main() -> None:
    """Prepare the demo, serve it, open cases and take the screenshots."""
    cityops = cityops_command()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cityops-workbench-") as tmp:
        workdir = Path(tmp)
        # A throwaway server: its demo accounts sign in with a password only (no TOTP step).
        env = {
            **os.environ,
            "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/var/cityops.db",
            "CITYOPS_TOTP_REQUIRED_ROLES": "[]",
        }
        subprocess.run(  # noqa: S603 - our own cityops command
            [cityops, "demo", "--no-serve"], cwd=tmp, env=env, check=True, capture_output=True
        )
        passwords = read_credentials(workdir / "var" / "demo-credentials.txt")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (workdir / "server.log").open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own cityops command
                [cityops, "serve", "--port", str(port)], cwd=tmp, env=env, stdout=log, stderr=log
            )
            try:
                wait_ready(base, server)
                where = point(workdir)
                first = prepare(base, passwords, where)
                desk = {"viewport": {"width": 1600, "height": 1000}}
                phone = {
                    "viewport": {"width": 375, "height": 667},
                    "device_scale_factor": 2,
                    "is_mobile": True,
                    "has_touch": True,
                    "geolocation": {"longitude": where[0], "latitude": where[1], "accuracy": 10},
                    "permissions": ["geolocation"],
                }
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    shoot(
                        browser,
                        base,
                        "duty",
                        passwords["duty"],
                        "/cases",
                        "workbench-list.png",
                        **desk,
                    )
                    shoot(
                        browser,
                        base,
                        "duty",
                        passwords["duty"],
                        f"/cases/{first}",
                        "workbench-case.png",
                        **desk,
                    )
                    shoot(
                        browser, base, "grid", passwords["grid"], "/m/", "mobile-tasks.png", **phone
                    )
                    shoot(
                        browser,
                        base,
                        "grid",
                        passwords["grid"],
                        "/m/report",
                        "mobile-report.png",
                        **phone,
                    )
                    browser.close()
            finally:
                server.terminate()
                server.wait(timeout=15)


if __name__ == "__main__":
    main()

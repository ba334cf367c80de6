"""Start a demo cityops server, log in as `duty` and `sijing`, and save the portal screenshots.

Besides the home and unit pages it opens demo cases (labelled 演示数据 in their text), some at
points spread over the district so the maps show them (heat at the district's zoom, points
closer), so that the overview (总览) shows live figures, and saves the district and town overviews and the
district's big screen (大屏, 1920×1080), and composes 泗泾镇's town page (街镇页面) over a
synthetic scene photo (labelled as such in its title) for docs/img/town-page.png.

Run from the repository root with the venv's Python:

    .venv/bin/python scripts/screenshots.py

Needs Debian's Chromium at /usr/bin/chromium (or CITYOPS_CHROMIUM) and a CJK font
(fonts-noto-cjk); it never downloads a browser and makes no request beyond 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, ViewportSize, sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "img"
CHROMIUM = os.environ.get("CITYOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1600, "height": 1000}


def cityops_command() -> str:
    """The `cityops` script next to this Python, else the one on PATH."""
    local = Path(sys.executable).parent / "cityops"
    found = str(local) if local.exists() else shutil.which("cityops")
    if found is None:
        raise SystemExit("cityops is not installed (pip install -e .)")
    return found


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll /readyz until the server answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as reply:  # noqa: S310 - local
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not become ready")


def read_credentials(path: Path) -> dict[str, str]:
    """Username → password from the demo's credentials file."""
    pairs = (line.split("\t") for line in path.read_text("utf-8").splitlines() if line)
    return {fields[0]: fields[1] for fields in pairs}


def shoot(
    browser: Browser,
    base: str,
    username: str,
    password: str,
    path: str,
    out: Path,
    *,
    viewport: ViewportSize = VIEWPORT,
    full_page: bool = False,
    wait_for: str | None = None,
) -> None:
    """Log in as one account, open a page and save a screenshot."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    if path != "/":
        page.goto(f"{base}{path}")
    if wait_for is not None:
        page.wait_for_selector(wait_for, timeout=60_000)
        page.wait_for_timeout(800)  # let the charts finish their entry animation
    page.screenshot(path=str(out), full_page=full_page)
    context.close()
    outside = [url for url in requested if not url.startswith(f"{base}/")]
    if outside:
        raise SystemExit(f"the portal requested outside the server: {outside}")
    print(f"wrote {out.relative_to(REPO)}")


#: Demo cases for the overview screenshots: (community or unit code, source, category). The duty
#: officer may claim only the grid and mobile channels (docs/security.md, finding 2).
DEMO_CASES = [
    ("310117102001", "mobile", "component:0101"),
    ("310117102003", "grid", "component:0101"),
    ("310117102005", "mobile", "component:0101"),
    ("310117102010", "grid", "component:0101"),
    ("310117102", "mobile", "component:0101"),
    ("310117103001", "grid", "component:0101"),
    ("310117103004", "mobile", "component:0101"),
    ("310117001001", "mobile", "component:0101"),
    ("310117001003", "grid", "component:0101"),
    ("310117004002", "mobile", "component:0101"),
    ("310117107001", "grid", "component:0101"),
    ("310117107002", "grid", "component:0101"),
    ("310117105001", "mobile", "component:0101"),
    ("310117104001", "grid", "component:0101"),
]


def _call(base: str, token: str, method: str, path: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(  # noqa: S310 - the local demo server
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request) as reply:  # noqa: S310 - the local demo server
        result: dict[str, object] = json.loads(reply.read() or b"{}")
        return result


def district_points() -> list[tuple[float, float]]:
    """Points over the district's box, a grid shaken by a fixed pattern (the same every run);
    the API refuses those outside the district."""
    points = []
    for i in range(10):
        for j in range(11):
            shake = (i * 7 + j * 13) % 11 - 5
            lon = 121.08 + 0.03 * i + 0.0021 * shake
            lat = 30.90 + 0.025 * j + 0.0017 * ((i * 5 + j * 3) % 9 - 4)
            points.append((round(lon, 4), round(lat, 4)))
    return points


def open_located_cases(base: str, token: str) -> int:
    """Open demo cases at points over the district (so the maps show them); return how many."""
    opened = 0
    for i, (lon, lat) in enumerate(district_points()):
        body = {
            "source": "grid" if i % 3 else "mobile",
            "source_key": f"demo-map-{i}",
            "category": "component:0101",
            "text": "演示数据：井盖缺失或破损",
            "location": {"lon": lon, "lat": lat},
        }
        try:
            _call(base, token, "POST", "/api/v1/cases", body)
        except urllib.error.HTTPError as error:
            if error.code != 422:  # outside the district: skipped; anything else is a fault
                raise
            continue
        opened += 1
    return opened


def open_demo_cases(base: str, username: str, password: str) -> None:
    """Open the demo cases as the district officer; register and dispatch some, supervise one."""
    token = str(
        _call(base, "", "POST", "/api/v1/auth/login", {"username": username, "password": password})[
            "access_token"
        ]
    )
    for i, (code, source, category) in enumerate(DEMO_CASES):
        body = {
            "source": source,
            "source_key": f"demo-{i}",
            "category": category,
            "text": "演示数据：井盖缺失或破损",
            "org_code": code,
        }
        case = _call(base, token, "POST", "/api/v1/cases", body)
        if i % 2 == 0:
            _call(base, token, "POST", f"/api/v1/cases/{case['id']}/actions/register", {})
        if i % 4 == 0:
            _call(base, token, "POST", f"/api/v1/cases/{case['id']}/actions/dispatch", {})
        if i == 4:
            action = {"comment": "请加快处置", "level": "supervise"}
            _call(base, token, "POST", f"/api/v1/cases/{case['id']}/actions/supervise", action)
    print(f"opened {open_located_cases(base, token)} located demo cases")


def demo_scene() -> bytes:
    """A synthetic street scene (sky, river, buildings) for the demo town page, as JPEG."""
    image = Image.new("RGB", (1600, 800), (150, 196, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 560, 1600, 800], fill=(70, 118, 160))
    for i, left in enumerate(range(0, 1600, 110)):
        top = 250 + (i * 53) % 140
        draw.rectangle([left + 8, top, left + 96, 560], fill=(196 - i % 3 * 20, 186, 168))
        for row in range(top + 20, 540, 40):
            draw.rectangle([left + 22, row, left + 82, row + 14], fill=(235, 240, 246))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def compose_town_page(base: str, username: str, password: str) -> None:
    """Save 泗泾镇's page: live parts and a map over a (synthetic, labelled) scene photo."""
    login = {"username": username, "password": password}
    token = str(_call(base, "", "POST", "/api/v1/auth/login", login)["access_token"])
    headers = {"Authorization": f"Bearer {token}"}
    files = {"file": ("scene.jpg", demo_scene(), "image/jpeg")}
    ref = httpx.post(f"{base}/api/v1/media/photos", files=files, headers=headers).json()["ref"]
    widgets = [
        {"kind": "part", "part": "city_operation", "x": 0, "y": 0, "w": 5, "h": 7},
        {"kind": "part", "part": "event_flow", "x": 0, "y": 7, "w": 5, "h": 9},
        {"kind": "map", "layers": ["units", "communities", "cases"], "title": "泗泾镇地图",
         "x": 7, "y": 0, "w": 5, "h": 8, "options": {"opacity": 80}},
        {"kind": "part", "part": "dispatch", "x": 7, "y": 8, "w": 5, "h": 8},
    ]  # fmt: skip
    body = {
        "title": "泗泾镇实景+数字化（演示：背景为合成图）",
        "background": ref,
        "background_kind": "image",
        "widgets": widgets,
        "version": 0,
    }
    _call(base, token, "PUT", "/api/v1/towns/310117102/page", body)


def main() -> None:
    """Prepare the demo in a temporary directory, serve it, and take the screenshots."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    cityops = cityops_command()
    with tempfile.TemporaryDirectory(prefix="cityops-shots-") as tmp:
        # A throwaway server: its demo accounts sign in with a password only (no TOTP step).
        env = {
            **os.environ,
            "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/var/cityops.db",
            "CITYOPS_TOTP_REQUIRED_ROLES": "[]",
        }
        subprocess.run(  # noqa: S603 - our own cityops command
            [cityops, "demo", "--no-serve"], cwd=tmp, env=env, check=True, capture_output=True
        )
        credentials = read_credentials(Path(tmp) / "var" / "demo-credentials.txt")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "server.log").open("wb")
        server = subprocess.Popen(  # noqa: S603 - our own cityops command
            [cityops, "serve", "--port", str(port)], cwd=tmp, env=env, stdout=log, stderr=log
        )
        try:
            wait_ready(base, server)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                duty = credentials["duty"]
                shoot(browser, base, "duty", duty, "/", OUT / "portal-home.png")
                shoot(
                    browser,
                    base,
                    "sijing",
                    credentials["sijing"],
                    "/org/310117102",
                    OUT / "portal-town.png",
                )
                open_demo_cases(base, "duty", duty)
                idle = "#ov-map[data-map-state=idle]"
                shoot(
                    browser, base, "duty", duty, "/overview/310117",
                    OUT / "overview-district.png", full_page=True, wait_for=idle,
                )  # fmt: skip
                shoot(
                    browser, base, "sijing", credentials["sijing"], "/overview/310117102",
                    OUT / "overview-town.png", full_page=True, wait_for=idle,
                )  # fmt: skip
                compose_town_page(base, "sijing", credentials["sijing"])
                shoot(
                    browser, base, "sijing", credentials["sijing"], "/towns/310117102/page",
                    OUT / "town-page.png", full_page=True, wait_for=".tp-map[data-map-state=idle]",
                )  # fmt: skip
                shoot(
                    browser, base, "duty", duty, "/screen/310117", OUT / "overview-screen.png",
                    viewport={"width": 1920, "height": 1080}, wait_for=idle,
                )  # fmt: skip
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)
            log.close()


if __name__ == "__main__":
    main()

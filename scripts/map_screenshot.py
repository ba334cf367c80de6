"""Start a cityops server on a fresh database and save the embeddable map to docs/img/map-embed.png.

Run from the repository root with the venv's Python, after `make web`:

    .venv/bin/python scripts/map_screenshot.py

The map shows the seeded district (generated, approximate boundaries: the page says so) and one
shared drawing labelled as an example. Needs Debian's Chromium (or CITYOPS_CHROMIUM) and a CJK
font (fonts-noto-cjk); nothing is downloaded and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright
from screenshots import CHROMIUM, CHROMIUM_ARGS, cityops_command, free_port, wait_ready

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "img" / "map-embed.png"
USER, PASSWORD = "map_duty", "Map-Screenshot-Passw0rd!"
#: An example cordon near 泗泾镇, drawn through the API like a duty officer would.
CORDON = {
    "name": "临时警戒区（示例）",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [121.252, 31.108],
                [121.272, 31.106],
                [121.276, 31.121],
                [121.256, 31.125],
                [121.252, 31.108],
            ]
        ],
    },
    "style": {"color": "#ff4d4f", "width": 2.5, "fill_opacity": 0.25, "dashed": True},
    "org_code": "310117102",
    "shared": True,
}


def _post(base: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}{path}", json.dumps(body).encode(), headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - 127.0.0.1 only
        return json.load(reply)


def prepare(workdir: Path, env: dict[str, str]) -> None:
    """Migrate and seed the database and open a district officer's account."""
    cityops = cityops_command()
    for args in (["migrate"], ["seed"]):
        subprocess.run([cityops, *args], cwd=workdir, env=env, check=True, capture_output=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [cityops, "user", "create", USER, "--role", "district_officer", "--org", "310117"],
        cwd=workdir, env=env, check=True, capture_output=True, input=f"{PASSWORD}\n".encode(),
    )  # fmt: skip


def shoot(base: str, token: str) -> None:
    """Open the embeddable map, wait until it is idle and save the picture."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        outside: list[str] = []
        context.on(
            "request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None
        )
        layers = "district,units,communities,drawings"
        page.goto(f"{base}/map/embed?layers={layers}&token={token}")
        page.wait_for_selector("body[data-map-state=idle]", state="attached", timeout=60_000)
        page.wait_for_timeout(500)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT))
        browser.close()
    if outside:
        raise SystemExit(f"requests left 127.0.0.1: {outside}")


def main() -> None:
    """Serve, draw the example cordon, shoot, stop."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # A throwaway server: its demo accounts sign in with a password only (no TOTP step).
        env = {
            **os.environ,
            "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/cityops.db",
            "CITYOPS_TOTP_REQUIRED_ROLES": "[]",
        }
        prepare(workdir, env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (workdir / "server.log").open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own cityops command
                [cityops_command(), "serve", "--port", str(port)],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=log,
            )
            try:
                wait_ready(base, server)
                login = _post(base, "/api/v1/auth/login", {"username": USER, "password": PASSWORD})
                token = login["access_token"]
                _post(base, "/api/v1/map/drawings", CORDON, token)
                shoot(base, token)
            finally:
                server.terminate()
                server.wait(timeout=15)
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()

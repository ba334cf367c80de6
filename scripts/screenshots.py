"""Start a demo cityops server, log in as `duty` and `sijing`, and save the portal screenshots.

Run from the repository root with the venv's Python:

    .venv/bin/python scripts/screenshots.py

Needs Debian's Chromium at /usr/bin/chromium (or CITYOPS_CHROMIUM) and a CJK font
(fonts-noto-cjk); it never downloads a browser and makes no request beyond 127.0.0.1.
"""

from __future__ import annotations

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


def shoot(browser: Browser, base: str, username: str, password: str, path: str, out: Path) -> None:
    """Log in as one account, open a page and save a viewport screenshot."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", device_scale_factor=1)
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
    page.screenshot(path=str(out))
    context.close()
    outside = [url for url in requested if not url.startswith(f"{base}/")]
    if outside:
        raise SystemExit(f"the portal requested outside the server: {outside}")
    print(f"wrote {out.relative_to(REPO)}")


def main() -> None:
    """Prepare the demo in a temporary directory, serve it, and take the screenshots."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    cityops = cityops_command()
    with tempfile.TemporaryDirectory(prefix="cityops-shots-") as tmp:
        env = {**os.environ, "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/var/cityops.db"}
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
                shoot(browser, base, "duty", credentials["duty"], "/", OUT / "portal-home.png")
                shoot(
                    browser,
                    base,
                    "sijing",
                    credentials["sijing"],
                    "/org/310117102",
                    OUT / "portal-town.png",
                )
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=15)
            log.close()


if __name__ == "__main__":
    main()

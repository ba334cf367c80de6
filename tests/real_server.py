"""A real `cityops serve` process and Debian's Chromium, shared by the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CITYOPS_CHROMIUM", "/usr/bin/chromium")
#: Headless, and nothing that would phone out of a closed network.
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


def unavailable(reason: str) -> NoReturn:
    """Fail when CI=true (a missing component never skips there), else skip."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


def cityops_command() -> str:
    """The installed `cityops` console script."""
    local = Path(sys.executable).parent / "cityops"
    found = str(local) if local.exists() else shutil.which("cityops")
    assert found, "the cityops command is not installed"
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until the server answers /readyz with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"cityops serve exited with {server.returncode}"
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail("cityops serve did not become ready")


@contextmanager
def running_cityops(
    workdir: Path, accounts: dict[str, tuple[str, str, str]], password: str
) -> Iterator[str]:
    """Migrate and seed a SQLite DB in workdir, open accounts (role, org, name), serve; yield the base URL."""
    cityops = cityops_command()
    env = {**os.environ, "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/cityops.db"}
    for args in (["migrate"], ["seed"]):
        subprocess.run([cityops, *args], cwd=workdir, env=env, check=True, capture_output=True)
    for username, (role, org, name) in accounts.items():
        subprocess.run(
            [cityops, "user", "create", username, "--role", role, "--org", org, "--name", name],
            cwd=workdir, env=env, check=True, capture_output=True, input=f"{password}\n".encode(),
        )  # fmt: skip
    base = f"http://127.0.0.1:{free_port()}"
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [cityops, "serve", "--port", base.rsplit(":", 1)[1]],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_ready(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=15)


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; never a downloaded browser."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        args = [*CHROMIUM_ARGS, *extra_args]
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class BrowserSession:
    """A browser context and page that remember every URL requested and every page error."""

    context: Any
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_session(
    browser: Any, width: int = 1600, height: int = 1000, *, console_errors: bool = False
) -> BrowserSession:
    """A fresh context (no cookies) in Chinese; console errors are recorded when asked."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    session = BrowserSession(context, context.new_page())
    context.on("request", lambda request: session.requests.append(request.url))
    session.page.on("pageerror", lambda error: session.errors.append(str(error)))
    if console_errors:
        session.page.on(
            "console",
            lambda msg: session.errors.append(msg.text) if msg.type == "error" else None,
        )
    return session

"""A private Mosquitto and consumer processes for the MQTT tests (never the shared broker)."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI

MOSQUITTO = "/usr/sbin/mosquitto"
#: This helper's port range (8210–8219): the tests' own brokers listen here.
PORTS = range(8210, 8220)


def require_mosquitto() -> None:
    """Go on only if mosquitto and mosquitto_pub exist: fail when CI=true, else skip."""
    if not Path(MOSQUITTO).exists() or shutil.which("mosquitto_pub") is None:
        if IN_CI:
            pytest.fail("mosquitto and mosquitto-clients are required in CI")
        pytest.skip("mosquitto not installed (set CI=true to make this a failure)")


def free_port() -> int:
    """A free port of the range."""
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8210–8219")


class Broker:
    """A mosquitto on its own port, with persistence, that a test may restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.config = workdir / "mosquitto.conf"
        (workdir / "data").mkdir(exist_ok=True)
        self.config.write_text(
            # Run as ourselves: started as root, mosquitto would switch to its own user and
            # could not write its persistence file in our temporary directory.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir / 'data'}/\n"
            # No cap on what a persistent session may queue while its consumer is away.
            "max_queued_messages 0\nmax_inflight_messages 0\nautosave_interval 1\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)  # a clean stop writes the sessions to disk
            self.proc.wait(30)
            self.proc = None


class Consumer:
    """`cityops iot consume` as a separate process, as deployed."""

    def __init__(self, database_url: str, broker: Broker, prefix: str, client_id: str) -> None:
        self.env = {
            **os.environ,
            "CITYOPS_DATABASE_URL": database_url,
            "CITYOPS_MQTT_URL": broker.url,
            "CITYOPS_MQTT_TOPIC_PREFIX": prefix,
            "CITYOPS_MQTT_CLIENT_ID": client_id,
            "CITYOPS_MQTT_SHARE_GROUP": client_id,
        }
        self.proc: subprocess.Popen[str] | None = None
        self.connected = threading.Event()

    def start(self) -> None:
        self.connected.clear()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cityops", "iot", "consume"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._watch, args=(self.proc,), daemon=True).start()
        assert self.connected.wait(90), "the consumer did not connect"

    def _watch(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "subscribed" in line:
                self.connected.set()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # SIGKILL: no flush, no goodbye
            self.proc.wait(30)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(60)
            self.proc = None

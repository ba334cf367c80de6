"""sipp acting as a GB/T 28181 device against the app's real SIP server, over UDP and TCP:
register with digest, answer DeviceInfo and a two-packet Catalog, keep alive; the rare
characters of the GB18030 bodies come out of the API unchanged, and the API checks scope.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from cityops.app import create_app
from cityops.video.simulator.fleet import Fleet
from tests.conftest import PASSWORD as PASSWORD_OF_ACCOUNTS
from tests.conftest import Backend, Login
from tests.portal import login_form
from tests.real_server import unavailable
from tests.video.test_upper import nvr

SCENARIOS = Path(__file__).parent / "sipp"
PASSWORD = "sipp-Passw0rd"
DOMAIN = "3101170000"
PLATFORM = "31011700002000000001"
#: Ports of this test (the video helper's range is 15060–15099): SIP server, sipp per transport.
SIP_PORT = {"sqlite": 15061, "postgresql": 15062}
SIPP_PORT = {("sqlite", "u1"): 15071, ("sqlite", "t1"): 15072}
SIPP_PORT |= {("postgresql", "u1"): 15073, ("postgresql", "t1"): 15074}
NAMES = ["萳园路口㵘", "𠮷祥桥", "堃喆镕玥"]


@pytest.fixture(scope="module")
def sip(backend: Backend) -> Iterator[tuple[TestClient, Login, str]]:
    """The app with its SIP server on, on the shared test database."""
    settings = backend.settings.model_copy(
        update={
            "sip_enabled": True,
            "sip_host": "127.0.0.1",
            "sip_port": SIP_PORT[backend.name],
            "sip_password": SecretStr(PASSWORD),
            "sip_domain": DOMAIN,
            "sip_platform_id": PLATFORM,
        }
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        assert client.app.state.video_platform is not None, "the SIP server did not start"  # type: ignore[attr-defined]
        yield client, Login(client), backend.name


def run_sipp(tmp_path: Path, backend: str, transport: str, device: str) -> None:
    """Run the two scenarios (re-encoded as GB18030) as one device; fail on sipp's failure."""
    if shutil.which("sipp") is None:
        unavailable("sipp (Debian sip-tester) is not installed")
    for name in ("device_register.xml", "device_answer.xml"):
        text = (SCENARIOS / name).read_text("utf-8")
        (tmp_path / name).write_bytes(text.encode("gb18030"))
    keys = {
        "device": device,
        "domain": DOMAIN,
        "platform": PLATFORM,
        **{f"channel{n}": f"{device[:10]}131{device[13]}{device[14:18]}{n:02d}" for n in (1, 2, 3)},
    }
    command = ["sipp", f"127.0.0.1:{SIP_PORT[backend]}", "-sf", "device_register.xml"]
    command += ["-oocsf", "device_answer.xml", "-t", transport, "-m", "1"]
    command += ["-i", "127.0.0.1", "-p", str(SIPP_PORT[(backend, transport)])]
    command += ["-au", device, "-ap", PASSWORD, "-timeout", "60s", "-timeout_error"]
    command += ["-nostdin", "-trace_err"]
    for key, value in keys.items():
        command += ["-key", key, value]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    errors = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*_errors.log"))
    assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:] + errors


def channel_code(device: str, n: int) -> str:
    return f"{device[:10]}131{device[13]}{device[14:18]}{n:02d}"


def wait_for(read: Any, ready: Any, rounds: int = 600) -> Any:
    """Read until ready (the catalog is written just after its last packet); bounded by count."""
    for _ in range(rounds):
        value = read()
        if ready(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"not ready: {value}")


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_sipp_device_registers_and_its_catalog_reaches_the_api(
    sip: tuple[TestClient, Login, str], tmp_path: Path, transport: str
) -> None:
    client, login, backend = sip
    device = f"310117100011800{1 if transport == 'u1' else 2}{'1' if backend == 'sqlite' else '2'}{len(backend):03d}"
    run_sipp(tmp_path, backend, transport, device)
    duty = login.headers("t_duty")
    url = f"/api/v1/video/devices/{device}"
    found = wait_for(
        lambda: client.get(url, headers=duty).json(),
        lambda body: body.get("channel_count") == 3 and body.get("catalog_complete"),
    )
    assert found["online"] is True and found["name"] == "sipp设备萳㵘"
    assert found["transport"] == ("udp" if transport == "u1" else "tcp")
    channels = client.get(f"{url}/channels", headers=duty).json()
    assert [c["name"] for c in channels] == NAMES  # GB18030 rare characters unchanged
    assert [c["channel_id"] for c in channels] == [channel_code(device, n) for n in (1, 2, 3)]
    assert channels[0]["address"] == "䶮路1号" and channels[2]["status"] == "OFF"
    tree = client.get("/api/v1/video/tree?civil_code=31011710", headers=duty).json()
    assert any(c["name"] == "𠮷祥桥" for node in tree for c in node["channels"])
    listed = client.get("/api/v1/video/devices", headers=duty).json()
    assert device in [d["device_id"] for d in listed]


def test_scope_and_bad_input_of_the_api(sip: tuple[TestClient, Login, str], tmp_path: Path) -> None:
    client, login, backend = sip
    device = f"3101171000118009{'1' if backend == 'sqlite' else '2'}999"
    run_sipp(tmp_path, backend, "u1", device)
    url = f"/api/v1/video/devices/{device}"
    duty, sijing, sheshan = (login.headers(u) for u in ("t_duty", "t_sijing", "t_sheshan"))
    wait_for(lambda: client.get(url, headers=duty).status_code, lambda s: s == 200)
    assert client.get(url, headers=sijing).status_code == 403  # the district owns it
    assert client.get("/api/v1/video/devices", headers=login.headers("t_grid")).status_code == 403
    assert device not in [
        d["device_id"] for d in client.get("/api/v1/video/devices", headers=sijing).json()
    ]
    moved = client.patch(url, json={"owner_code": "310117102"}, headers=duty)
    assert moved.status_code == 200 and moved.json()["owner_code"] == "310117102"
    assert client.get(url, headers=sijing).status_code == 200
    assert client.get(f"{url}/channels", headers=sheshan).status_code == 403
    refused = client.patch(url, json={"owner_code": "310117103"}, headers=sijing)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    missing = client.get("/api/v1/video/devices/31011710001180099999", headers=duty)
    assert missing.status_code == 404 and missing.json()["type"].endswith("not-found")
    assert client.get("/api/v1/video/devices/123", headers=duty).status_code == 422
    assert client.get("/api/v1/video/tree?civil_code=x", headers=duty).status_code == 422
    unknown = client.post("/api/v1/video/devices/31011710001180099999/catalog-query", headers=duty)
    assert unknown.status_code == 404
    assert client.post(f"{url}/catalog-query", headers=sheshan).status_code == 403


def test_the_portal_lists_devices_and_channels_in_chinese(
    sip: tuple[TestClient, Login, str],
) -> None:
    client, _login, backend = sip
    device = f"310117100011800{1}{'1' if backend == 'sqlite' else '2'}{len(backend):03d}"
    try:
        login_form.login(client, "t_duty", PASSWORD_OF_ACCOUNTS)
        listing = client.get("/video")
        assert listing.status_code == 200 and "视频设备" in listing.text
        assert f'href="/video/{device}"' in listing.text and "sipp设备萳㵘" in listing.text
        page = client.get(f"/video/{device}")
        assert page.status_code == 200
        assert all(name in page.text for name in NAMES) and "䶮路1号" in page.text
        assert client.get("/video/31011710001180099999").status_code == 404
        assert client.get("/video/abc").status_code == 404
        login_form.login(client, "t_grid", PASSWORD_OF_ACCOUNTS)
        assert client.get("/video").status_code == 403
    finally:
        client.cookies.clear()


def test_a_device_alarm_opens_a_case(sip: tuple[TestClient, Login, str]) -> None:
    """Notify/Alarm → VideoAlarm on the bus → cases opens one case at the channel's position."""
    client, login, backend = sip
    serial = 880 + (1 if backend == "sqlite" else 2)
    device = nvr(serial, 2)

    async def alarm() -> tuple[int, int]:
        fleet = Fleet(("127.0.0.1", SIP_PORT[backend]), domain=DOMAIN, password=PASSWORD)
        fleet.add(device)
        await fleet.start()
        try:
            assert (await fleet.register(device.device_id)).status == 200
            for _ in range(600):  # the catalog (with positions) is stored after its last packet
                await asyncio.sleep(0.1)
                if fleet.catalogs_sent:
                    break
            channel = device.channels[1]["DeviceID"]
            first = await fleet.alarm(device.device_id, channel, 7, "区域入侵")
            again = await fleet.alarm(device.device_id, channel, 7, "区域入侵")  # the same alarm
            return first.status, again.status
        finally:
            await fleet.stop()

    assert asyncio.run(alarm()) == (200, 200)
    duty = login.headers("t_duty")
    cases = wait_for(
        lambda: [
            c
            for c in client.get("/api/v1/cases?source=video&limit=100", headers=duty).json()[
                "items"
            ]
            if device.channels[1]["DeviceID"] in c["text"]
        ],
        lambda found: len(found) >= 1,
    )
    assert len(cases) == 1 and "区域入侵" in cases[0]["text"]

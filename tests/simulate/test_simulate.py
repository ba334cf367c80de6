"""`cityops simulate cases` against a real server: every source, the handlers, all labelled."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import httpx

from cityops.bootstrap import DEMO_ACCOUNTS
from cityops.simulate.accounts import WORKING_ROLES
from tests.conftest import PASSWORD
from tests.real_server import cityops_command, running_cityops

OFFICER = {"t_watch": ("district_officer", "310117", "值班员")}


def _officer(base: str) -> httpx.Client:
    http = httpx.Client(base_url=base, timeout=30)
    reply = http.post("/api/v1/auth/login", json={"username": "t_watch", "password": PASSWORD})
    http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
    return http


def _all_cases(http: httpx.Client) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    while True:
        page = http.get("/api/v1/cases", params={"limit": 200, "offset": len(items)}).json()
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def test_the_simulator_feeds_every_source_and_plays_the_handlers(tmp_path: Path) -> None:
    with running_cityops(tmp_path, OFFICER, PASSWORD) as base:
        env = {**os.environ, "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cityops.db"}
        run = subprocess.run(
            [cityops_command(), "simulate", "cases", "--base-url", base, "--rate", "25",
             "--count", "40", "--dwell", "0.05", "--seed", "4"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert "opened 40" in run.stdout
        http = _officer(base)
        cases = _all_cases(http)
        assert len(cases) == 40
        sources = Counter(c["source"] for c in cases)
        assert sources.keys() >= {"hotline_12345", "grid", "mobile", "open311"}, sources
        assert any(c["component_id"] for c in cases if c["source"] == "grid")
        for case in cases:
            assert str(case["text"]).startswith("【模拟】")
            assert "SIM-" in str(case["source_key"])  # Open311 namespaces the client's key
            assert case["status"] in ("evaluated", "voided")  # every case closed its loop
        evaluated = next(c for c in cases if c["status"] == "evaluated")
        timeline = http.get(f"/api/v1/cases/{evaluated['id']}/timeline").json()
        steps = [e["action"] for e in timeline]
        for action in ("created", "register", "dispatch", "sign", "handle", "close", "evaluate"):
            assert action in steps
        kpi = http.get("/api/v1/cases/kpi", params={"unit": "310117"})
        assert kpi.status_code == 200, kpi.text


def test_every_demo_account_has_work_in_its_scope_from_the_first_reports(tmp_path: Path) -> None:
    """Bounded by count, not by time: the first reports (two here) reach every person's scope.

    At the demo's rate (0.2 reports/s) the second report comes ~10 s after the start on average.
    """
    people = {
        f"t_{name}": (role.value, org, label)
        for name, role, org, label in DEMO_ACCOUNTS
        if role in WORKING_ROLES
    }
    assert {org for _, org, _ in people.values()} >= {"310117102001", "310117103"}
    with running_cityops(tmp_path, people, PASSWORD) as base:
        env = {**os.environ, "CITYOPS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cityops.db"}
        run = subprocess.run(
            [cityops_command(), "simulate", "cases", "--base-url", base, "--rate", "25",
             "--count", "2", "--no-handlers", "--seed", "5"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        http = httpx.Client(base_url=base, timeout=30)
        for username, (_, org, _) in people.items():
            reply = http.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
            page = http.get("/api/v1/cases", headers=headers).json()
            assert page["total"] >= 1, f"{username} ({org}) sees no case"
            assert all(str(c["owner_code"]).startswith(org) for c in page["items"])

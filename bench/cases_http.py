"""The HTTP path: a real `cityops serve` loaded by wrk, intake and actions end to end.

For each number of workers: start `cityops serve --workers N` on the benchmark database, warm
it up, then (1) POST /api/v1/cases with unique source keys for `duration` seconds as the 12345
system (an API key), and (2) drive the cases opened in (1) through the main line with
POST /api/v1/cases/{id}/actions/{action} as the district duty officer (a session token),
for `duration` seconds. Every request is the real thing: authentication, scope, validation,
the case service, one committed transaction, the JSON answer (the case with its allowed
actions and timers), the access log. Afterwards the database is checked against wrk's
count: as many new cases (and timeline rows) as 2xx answers, plus at most the requests still
in flight when wrk stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench_foundation import (
    HOST,
    Server,
    WrkRun,
    call,
    cityops_command,
    credentials,
    run_wrk_report,
)
from cases_cpu import CpuMeter, CpuShare, wait_quiet
from cases_workload import MAIN_LINE, Report
from cityops.cases.models import CaseEvent, CaseRecord
from cityops.kit.db import in_unit_of_work

CASES = "/api/v1/cases"


@dataclass
class HttpRun:
    """One measured wrk run."""

    backend: str
    workers: int
    phase: str  # "create" or "act"
    wrk: WrkRun
    cpu: CpuShare
    checked: dict[str, int]  # what the database holds afterwards
    server_log: dict[str, Any] = field(default_factory=dict)  # statuses and errors logged

    def record(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)


@dataclass
class HttpSetup:
    """A prepared database and the credentials the load uses."""

    backend: str
    url: str
    workdir: Path
    env: dict[str, str]
    cityops: str


def _json(reply_body: bytes) -> Any:
    return json.loads(reply_body)


def _post(port: int, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    reply = call(port, "POST", path, body=json.dumps(body).encode(), headers=headers)
    if reply.status not in (200, 201):
        raise RuntimeError(f"POST {path}: {reply.status} {reply.body[:300]!r}")
    return _json(reply.body)


def prepare(
    backend: str, url: str, workdir: Path, data_key: str, extra_env: dict[str, str] | None = None
) -> HttpSetup:
    """Migrate, seed and open the demo accounts (`cityops demo --no-serve`).

    `extra_env` goes to every cityops process of this setup (bench_ab.py: which code runs).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env |= {"CITYOPS_DATABASE_URL": url, "CITYOPS_DATA_KEY": data_key} | (extra_env or {})
    cityops = cityops_command()
    done = subprocess.run(
        [cityops, "demo", "--no-serve"],
        cwd=workdir,
        env=env,
        timeout=600,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cityops demo --no-serve failed:\n{done.stderr[-3000:]}")
    return HttpSetup(backend, url, workdir, env, cityops)


def open_accounts(setup: HttpSetup, port: int) -> tuple[str, str]:
    """An API key of a new 12345 system account, and a session token of the duty officer."""
    passwords = credentials(setup.workdir)

    def login(user: str) -> str:
        body = {"username": user, "password": passwords[user]}
        return str(_post(port, "/api/v1/auth/login", body)["access_token"])

    admin, security, duty = login("admin"), login("security"), login("duty")
    account = _post(
        port,
        "/api/v1/accounts",
        {"username": "bench12345", "role": "system_client", "org_code": "310117"},
        admin,
    )["account"]
    key = _post(port, f"/api/v1/accounts/{account['id']}/api-keys", {"name": "12345"}, security)
    return str(key["secret"]), duty


def write_reports(path: Path, reports: list[Report]) -> None:
    """The reports file of cases_create.lua: each body without braces and source fields."""
    lines = []
    for report in reports:
        body = report.body()
        del body["source"], body["source_key"]
        lines.append(json.dumps(body, separators=(",", ":"))[1:-1])
    path.write_text("\n".join(lines) + "\n", "ascii")


async def _received(url: str, prefix: str) -> list[int]:
    async def read(session: Any) -> list[int]:
        stmt = select(CaseRecord.id).where(
            CaseRecord.source_key.like(f"%:{prefix}-%"), CaseRecord.status == "received"
        )
        return list((await session.scalars(stmt.order_by(CaseRecord.id))).all())

    ids: list[int] = await in_unit_of_work(url, read)
    return ids


async def _counts(url: str, prefix: str) -> dict[str, int]:
    async def read(session: Any) -> dict[str, int]:
        mine = CaseRecord.source_key.like(f"%:{prefix}-%")
        cases = await session.scalar(select(func.count()).where(mine))
        events = await session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .join(CaseRecord, CaseRecord.id == CaseEvent.case_id)
            .where(mine)
        )
        closed = await session.scalar(
            select(func.count()).where(mine, CaseRecord.status == "closed")
        )
        return {
            "cases": int(cases or 0),
            "timeline_rows": int(events or 0),
            "closed": int(closed or 0),
        }

    counts: dict[str, int] = await in_unit_of_work(url, read)
    return counts


def wrk(opts: Any, port: int, script: str, args: list[str], seconds: float) -> tuple[WrkRun, str]:
    """One wrk run against 127.0.0.1:port; its figures and its report (for script output)."""
    return run_wrk_report(str(opts.wrk), port, "/", script, args, seconds=seconds, opts=opts)


async def postgres_pids(url: str) -> set[int]:
    """PostgreSQL's processes working for the benchmark database, and its background ones."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host or HOST,
        port=parsed.port or 5432,
        database=parsed.database,
    )
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE (datname = $1 AND pid <> pg_backend_pid())"
            " OR backend_type <> 'client backend'",
            parsed.database,
        )
    finally:
        await conn.close()
    return {int(r["pid"]) for r in rows}


def write_work(workdir: Path, ids: list[int], threads: int) -> None:
    """Per-thread case ids and the steps file of cases_act.lua."""
    for n in range(threads):
        (workdir / f"ids-{n + 1}.txt").write_text("\n".join(map(str, ids[n::threads])) + "\n")
    steps = [f"{action}\t{json.dumps(body or {}, ensure_ascii=True)}" for action, body in MAIN_LINE]
    (workdir / "steps.txt").write_text("\n".join(steps) + "\n")


class HttpBench:
    """Runs wrk phases against one server and checks the database after each."""

    def __init__(self, setup: HttpSetup, server: Server, opts: Any, tokens: tuple[str, str]):
        self.setup = setup
        self.server = server
        self.opts = opts
        self.key, self.duty = tokens
        self.database_pids = (
            (lambda: asyncio.run(postgres_pids(setup.url)))
            if setup.backend == "postgresql"
            else None
        )

    def create(self, prefix: str, reports_file: Path, seconds: float) -> tuple[WrkRun, CpuShare]:
        """POST new cases for `seconds`."""
        meter = CpuMeter(self.server.proc.pid, self.database_pids)
        args = [self.key, str(reports_file), prefix]
        run, _ = wrk(self.opts, self.server.port, "cases_create.lua", args, seconds)
        return run, meter.stop()

    def act(self, prefix: str, seconds: float) -> tuple[WrkRun, CpuShare, dict[str, int]]:
        """Drive the received cases of a prefix through the main line for `seconds`."""
        ids = asyncio.run(_received(self.setup.url, prefix))
        work = Path(tempfile.mkdtemp(prefix="acts-", dir=self.setup.workdir))
        write_work(work, ids, self.opts.threads)
        in_flight = 4 * (self.opts.connections // self.opts.threads + 1)
        meter = CpuMeter(self.server.proc.pid, self.database_pids)
        args = [self.duty, str(work), str(in_flight)]
        run, report = wrk(self.opts, self.server.port, "cases_act.lua", args, seconds)
        cpu = meter.stop()
        found = {
            key: int(m.group(1)) if (m := re.search(rf"^{label}: (\d+)", report, re.M)) else -1
            for key, label in (
                ("spare", "spare requests"),
                ("failed", "cases failed"),
                ("closed", "cases closed"),
            )
        }
        if found["spare"]:
            raise RuntimeError(
                f"the action run outlasted the {len(ids)} cases opened for it "
                f"({found['spare']} spare requests): shorten --duration"
            )
        return run, cpu, found | {"cases_available": len(ids)}

    def settle(self) -> None:
        """Let the requests wrk left in flight finish before the database is read."""
        wait_quiet(self.server.proc.pid)
        self.server.settle("/healthz")

    def measure(self, workers: int, tag: str, reports_file: Path) -> list[HttpRun]:
        """Warm up, then one intake run and one action run; each checked in the database."""
        opts, url = self.opts, self.setup.url
        warm, tag = f"{tag}-warm", f"{tag}-main"  # distinct prefixes: LIKE 'x-main-%'
        if opts.http_warmup:
            self.create(warm, reports_file, opts.http_warmup)
            self.settle()
            self.act(warm, opts.http_warmup)
            self.settle()
        created, cpu = self.create(tag, reports_file, opts.duration)
        self.settle()
        counts = asyncio.run(_counts(url, tag))
        answered = created.requests - created.non_2xx
        counts["consistent"] = answered <= counts["cases"] <= answered + opts.connections
        out = [HttpRun(self.setup.backend, workers, "create", created, cpu, counts)]
        acted, cpu, lua = self.act(tag, opts.duration)
        self.settle()
        before = counts
        counts = asyncio.run(_counts(url, tag)) | {f"wrk_{k}": v for k, v in lua.items()}
        stored = counts["timeline_rows"] - before["timeline_rows"]
        answered = acted.requests - acted.non_2xx
        counts["consistent"] = answered <= stored <= answered + opts.connections
        out.append(HttpRun(self.setup.backend, workers, "act", acted, cpu, counts))
        return out

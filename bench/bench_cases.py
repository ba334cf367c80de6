"""Event flow: cases opened and routed per second, and transitions per second, beside SpiffWorkflow.

    .venv/bin/pip install -e '.[bench]'      # SpiffWorkflow, the anchor
    sudo apt-get install -y wrk              # the HTTP load generator (macOS: brew install wrk)
    .venv/bin/python bench/bench_cases.py [--quick] [--cases 2000] [--duration 10]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_cases]

Four measurements, the last three on SQLite and on PostgreSQL (a fresh database, created and
dropped):

* the workflow engine in memory — the pure functions the service layer runs around its
  database work (locate, route, `engine.decide`, deadlines on the work calendar) on the same
  reports and steps, beside SpiffWorkflow in memory (cases_core.py): like for like;
* the service layer (engine path) — `--cases` 12345 orders opened through
  `cases.intake.intake` (located in a grid from their point, routed, contact encrypted,
  checked for twins), then each driven through the main line register → dispatch → sign →
  start → handle → check → verify → close with `CaseService.act`; every intake and every action
  is its own committed transaction with its append-only timeline row, SLA timers and domain
  event (see cases_engine.py);
* SpiffWorkflow on the same cases and steps (bench/mainline.bpmn, eight user tasks), persisted
  per step with its own serializer to a table of the same database (cases_spiff.py);
* HTTP — a real `cityops serve` with 1 and 2 workers loaded by wrk: POST /api/v1/cases, then
  POST /api/v1/cases/{id}/actions/{action} over the main line (cases_http.py).

Goals (issue "Event flow"): ≥ 10× SpiffWorkflow on the engine (judged engine against engine, both
in memory; the durable service layer beside Spiff persisted is reported), and ≥ 500 cases/s end
to end over HTTP on PostgreSQL. Results: bench/results/cases.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench_foundation import RESULTS_DIR, WRK_INSTALL_HINT, Server, database, source_state
from cases_report import balanced, render
from cases_workload import (
    DATA_KEY,
    MAIN_LINE,
    grid_shapes,
    prepare_database,
    reports,
    sample_points,
    usable_categories,
)

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_cases"
WARMUP_CASES = 50
#: The engine-in-memory clock: Tuesday 2026-11-24 09:30 in Shanghai; steps follow a minute apart.
CORE_START = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases per engine/Spiff round")
    parser.add_argument("--rounds", type=int, default=2, help="engine/Spiff rounds; best kept")
    parser.add_argument("--concurrency", type=int, default=1, help="engine/Spiff streams")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--http-warmup", type=float, default=2.0, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", default="1,2", help="server worker counts to measure")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a NEW database (dropped after)")
    parser.add_argument("--no-http", action="store_true", help="engine and Spiff only")
    parser.add_argument("--no-engine", action="store_true", help="HTTP only (no Spiff ratios)")
    parser.add_argument("--quick", action="store_true", help="a short run (noisy figures)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.cases, opts.rounds, opts.duration, opts.http_warmup = 300, 1, 3.0, 1.0
    opts.workers = [int(w) for w in opts.workers.split(",")]
    opts.backends = [b.strip() for b in opts.backends.split(",")]
    if not (10 <= opts.cases <= 200_000 and 1 <= opts.rounds <= 5):
        parser.error("keep --cases in 10..200000 and --rounds in 1..5")
    if not (1 <= opts.duration <= 120 and 1 <= opts.connections <= 512):
        parser.error("keep --duration in 1..120 s and --connections in 1..512")
    if not (1 <= opts.concurrency <= 64 and 1 <= opts.threads <= opts.connections):
        parser.error("--concurrency in 1..64, --threads in 1..connections")
    if set(opts.backends) - {"sqlite", "postgresql"} or not opts.backends:
        parser.error("--backends: sqlite, postgresql or both")
    if opts.no_http and opts.no_engine:
        parser.error("--no-http and --no-engine leave nothing to measure")
    return opts


async def pg_reachable(url: str) -> bool:
    """Whether the PostgreSQL server of a URL answers (its maintenance database)."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        conn = await asyncpg.connect(
            user=parsed.username,
            password=parsed.password,
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            database="postgres",
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def best(runs: list[Any]) -> Any:
    """The round with the highest transition throughput (the least disturbed one)."""
    return max(runs, key=lambda r: r.transitions.per_second)


def engine_and_spiff(url: str, backend: str, opts: Any) -> dict[str, Any]:
    """Rounds of the engine path and of Spiff persisted, alternating, on one database."""
    from cases_engine import run_engine
    from cases_spiff import run_persisted

    grids = asyncio.run(grid_shapes(url))
    points = sample_points(grids, 5000)
    categories = usable_categories()
    engine, spiff = [], []
    for n in range(opts.rounds):
        batch = reports(opts.cases + WARMUP_CASES, points, categories, f"eng{n}")
        warm, work = batch[:WARMUP_CASES], batch[WARMUP_CASES:]
        engine.append(asyncio.run(run_engine(url, backend, work, warm, opts.concurrency)))
        print(f"  {backend} engine round {n + 1}: {_rates(engine[-1])}", flush=True)
        batch = reports(opts.cases + WARMUP_CASES, points, categories, f"spf{n}")
        warm, work = batch[:WARMUP_CASES], batch[WARMUP_CASES:]
        spiff.append(asyncio.run(run_persisted(url, backend, work, warm, opts.concurrency)))
        print(f"  {backend} Spiff persisted round {n + 1}: {_rates(spiff[-1])}", flush=True)
    return {"engine": best(engine), "spiff": best(spiff), "categories": len(categories)}


def core_and_spiff_memory(url: str, opts: Any) -> dict[str, Any]:
    """Rounds of the workflow engine and of SpiffWorkflow, both in memory, on the same reports."""
    from cases_core import load, run_core
    from cases_spiff import run_memory

    loaded = asyncio.run(load(url))
    points = sample_points(asyncio.run(grid_shapes(url)), 5000)
    categories = usable_categories()
    core, spiff = [], []
    for n in range(opts.rounds):
        batch = reports(opts.cases + WARMUP_CASES, points, categories, f"mem{n}")
        warm, work = batch[:WARMUP_CASES], batch[WARMUP_CASES:]
        core.append(run_core(loaded, work, warm, CORE_START))
        print(f"  workflow engine in memory round {n + 1}: {_rates(core[-1])}", flush=True)
        spiff.append(run_memory(work, warm))
        print(f"  Spiff in memory round {n + 1}: {_rates(spiff[-1])}", flush=True)
    return {"core": best(core), "spiff_memory": best(spiff)}


def _rates(result: Any) -> str:
    return (
        f"{result.created.per_second:,.0f} cases/s, "
        f"{result.transitions.per_second:,.0f} transitions/s"
    )


def http_runs(backend: str, url: str, workdir: Path, opts: Any) -> list[Any]:
    """Serve the prepared database with each worker count and load it with wrk."""
    from cases_http import HttpBench, open_accounts, prepare, write_reports

    setup = prepare(backend, url, workdir, DATA_KEY)  # demo accounts (seeding is idempotent)
    points = sample_points(asyncio.run(grid_shapes(url)), 5000, seed=7)
    reports_file = workdir / "reports.txt"
    write_reports(reports_file, reports(5000, points, usable_categories(), "http"))
    tokens: tuple[str, str] | None = None
    out = []
    for workers in opts.workers:
        argv = [setup.cityops, "serve", "--workers", str(workers)]
        server = Server(f"cityops-{backend}-w{workers}", argv, workdir, setup.env)
        try:
            server.wait_ready("/readyz")
            tokens = tokens or open_accounts(setup, server.port)
            bench = HttpBench(setup, server, opts, tokens)
            runs = bench.measure(workers, f"h{workers}-{int(time.time())}", reports_file)
        finally:
            server.stop()
        logs = server.log_summary()
        for run in runs:
            run.server_log = logs
            w = run.wrk
            print(
                f"  {backend} HTTP {workers} worker(s) {run.phase}: {w.requests_per_s:,.0f} req/s "
                f"p50 {w.p50_ms} ms p99 {w.p99_ms} ms non-2xx {w.non_2xx}; "
                f"wrk {run.cpu.load_generator:.0%} of the CPU",
                flush=True,
            )
        if logs["unhandled_exceptions"] or any(s >= "500" for s in logs["statuses"]):
            print(f"  server log: {logs}", flush=True)
        for run in runs:
            if not run.checked["consistent"]:
                print(f"  WARNING: the database disagrees with wrk: {run.checked}", flush=True)
            if not balanced(run):
                print(
                    f"  WARNING: {run.phase}: the workers' shares of the work were "
                    f"{run.cpu.worker_split} (wrk's keep-alive connections landed unevenly): "
                    f"the figure understates {workers} workers",
                    flush=True,
                )
        out.extend(runs)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when both goals are met, 1 otherwise, 2 when it cannot run."""
    opts = parse_args(argv)
    opts.wrk = shutil.which("wrk")
    if opts.wrk is None and not opts.no_http:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    try:
        spiff_version = version("SpiffWorkflow")
    except Exception:
        print("SpiffWorkflow is missing: .venv/bin/pip install -e '.[bench]'", file=sys.stderr)
        return 2
    if "postgresql" in opts.backends and not asyncio.run(pg_reachable(opts.pg_url)):
        print(f"PostgreSQL is not reachable for {opts.pg_url}: start it, or --backends sqlite")
        return 2
    started, load = time.monotonic(), {"start": os.getloadavg()[0]}
    workdir = Path(tempfile.mkdtemp(prefix="cityops-bench-cases-"))
    results: dict[str, Any] = {"backends": {}}
    try:
        for backend in opts.backends:
            url = opts.pg_url if backend == "postgresql" else None
            (workdir / backend / "var").mkdir(parents=True)
            with database(url, workdir / backend) as db:
                print(f"{backend}: preparing {db.shown} …", flush=True)
                asyncio.run(prepare_database(db.url))
                if not opts.no_engine and "core" not in results:
                    print("workflow engine and SpiffWorkflow, in memory …", flush=True)
                    results |= core_and_spiff_memory(db.url, opts)
                found = {} if opts.no_engine else engine_and_spiff(db.url, backend, opts)
                http = [] if opts.no_http else http_runs(backend, db.url, workdir / backend, opts)
                results["backends"][backend] = found | {"http": http}
        load["end"] = os.getloadavg()[0]
        table, summary = render(results, opts, load, spiff_version)
        print(f"\ncityops event-flow benchmark — {opts.cases} cases × {len(MAIN_LINE)} steps\n")
        print(table)
        RESULTS_DIR.mkdir(exist_ok=True)
        part = "-http" if opts.no_engine else "-engine" if opts.no_http else ""
        out = RESULTS_DIR / f"cases{part}.json"
        record = summary | {
            "benchmark": "cases",
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": {
                "cpu_count": os.cpu_count(),
                "load_average_1min": load,
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "source": source_state(),
            "elapsed_s": round(time.monotonic() - started, 1),
        }
        out.write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n")
        print(f"\nresults: {out}   ({record['elapsed_s']:.0f}s)")
        return 0 if summary["all_goals_met"] else 1
    finally:
        if opts.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

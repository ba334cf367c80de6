"""The overview (总览) under a year of synthetic district data: Chromium load and API latency.

Run: .venv/bin/python bench/bench_overview.py [--cases 500000] [--rounds 200] [--pg]

Workload: a migrated, seeded database with `--cases` labelled-synthetic cases over the last
365 days (bench/year_of_cases.py: placed and routed by the platform's own division index), a
real `cityops serve` on it, and a district duty officer.
- API: `GET /api/v1/overview/{code}` for the district and for 泗泾镇, `--rounds` times each,
  with the overview cache (warm) and without it (`?cache=false`, every part computed afresh)
  in the same run; p50/p95/p99 and the ratio.
- Chromium (Debian's, headless, via Playwright): the logged-in district overview page loaded
  `--loads` times; DOMContentLoaded and "data complete" (every chart drawn, the map idle with
  its tiles loaded, the live stream connected), from navigation start; the median counts.
Goals (issue #5): data complete < 1.5 s; dashboard API p95 < 100 ms, with and without cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_server import CHROMIUM, CHROMIUM_ARGS, cityops_command, free_port

from bench.year_of_cases import load_year

PASSWORD = "Bench-Passw0rd!"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DISTRICT, TOWN = "310117", "310117102"  # 松江区, 泗泾镇
#: Data complete: every chart drawn, the map idle with its tiles, the live stream connected.
READY = (
    "window.cityopsOverview && window.cityopsOverview.charts() >= 7"
    " && document.querySelector('#ov-map[data-map-state=idle]') !== null"
    " && document.querySelector('#ov-live[data-state=live]') !== null"
)


def _cityops(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> None:
    subprocess.run(
        [cityops_command(), *args], cwd=cwd, env=env, check=True, capture_output=True,
        input=stdin.encode(),
    )  # fmt: skip


def prepare(url: str, cases: int, workdir: Path) -> dict[str, str]:
    """Migrate, seed, load the synthetic year, open the officer; the environment to serve it."""
    env = {**os.environ, "CITYOPS_DATABASE_URL": url, "CITYOPS_SCHEDULER": "false"}
    _cityops(["migrate"], env, workdir)
    _cityops(["seed"], env, workdir)
    seconds = asyncio.run(load_year(url, cases))
    print(f"loaded {cases:,} synthetic cases in {seconds:.0f} s", flush=True)
    args = ["user", "create", "bench_duty", "--role", "district_officer", "--org", DISTRICT]
    _cityops([*args, "--name", "基准值班员"], env, workdir, f"{PASSWORD}\n")
    return env


@contextmanager
def serving(env: dict[str, str], workdir: Path) -> Iterator[str]:
    """A real `cityops serve` on the prepared database."""
    port = free_port()
    log = (workdir / "serve.log").open("wb")
    server = subprocess.Popen(
        [cityops_command(), "serve", "--port", str(port)], cwd=workdir, env=env,
        stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def api_latency(base: str, rounds: int) -> dict[str, dict[str, float]]:
    """Overview API latency per (area, cache on/off)."""
    http = httpx.Client(base_url=base, timeout=60)
    token = http.post(
        "/api/v1/auth/login", json={"username": "bench_duty", "password": PASSWORD}
    ).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    results: dict[str, dict[str, float]] = {}
    for code in (DISTRICT, TOWN):
        for cached in (True, False):
            params = {} if cached else {"cache": "false"}
            http.get(f"/api/v1/overview/{code}", params=params).raise_for_status()  # warm
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                http.get(f"/api/v1/overview/{code}", params=params).raise_for_status()
                samples.append(time.perf_counter() - started)
            results[f"{code} {'cached' if cached else 'uncached'}"] = percentiles(samples)
    return results


def page_load(base: str, loads: int) -> dict[str, float]:
    """Median DOMContentLoaded and data-complete times of the district overview in Chromium."""
    from playwright.sync_api import sync_playwright

    dcl, complete = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "bench_duty")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for _ in range(loads):
            page.goto(f"{base}/overview/{DISTRICT}", wait_until="domcontentloaded")
            # Polled every animation frame; performance.now() is measured from navigation start.
            handle = page.wait_for_function(
                f"() => ({READY}) ? performance.now() : false", timeout=30_000
            )
            done_at = handle.json_value()
            timing = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
            )
            dcl.append(float(timing))
            complete.append(float(done_at))
        browser.close()
    return {
        "domcontentloaded_ms": statistics.median(dcl),
        "data_complete_ms": statistics.median(complete),
    }


def main() -> int:
    """Run the benchmark; exit 1 when a goal is missed, 2 when Chromium is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM}: run bench/ensure_tools.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cityops-bench-overview-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite+aiosqlite:///{workdir}/cityops.db"
        database = None
        if args.pg:
            database = f"bench_overview_{os.getpid()}"
            subprocess.run(["psql", PG_ADMIN, "-qc", f"CREATE DATABASE {database}"], check=True)
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
        try:
            env = prepare(url, args.cases, workdir)
            with serving(env, workdir) as base:
                api = api_latency(base, args.rounds)
                load = page_load(base, args.loads)
        finally:
            if database:
                subprocess.run(["psql", PG_ADMIN, "-qc", f"DROP DATABASE {database}"], check=False)
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"\noverview with {args.cases:,} synthetic cases on {backend}")
    print(f"{'request':<28}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name, cut in api.items():
        print(f"{name:<28}{cut['p50']:>10.1f}{cut['p95']:>10.1f}{cut['p99']:>10.1f}")
    for code in (DISTRICT, TOWN):
        ratio = api[f"{code} uncached"]["p50"] / api[f"{code} cached"]["p50"]
        print(f"cache speed-up at p50 for {code}: {ratio:.1f}x")
    print(f"Chromium: DOMContentLoaded {load['domcontentloaded_ms']:.0f} ms, "
          f"data complete {load['data_complete_ms']:.0f} ms (median of {args.loads})")  # fmt: skip
    worst_p95 = max(cut["p95"] for cut in api.values())
    met = load["data_complete_ms"] < 1500 and worst_p95 < 100
    print(f"goals (data complete < 1500 ms, p95 < 100 ms): {'met' if met else 'MISSED'}")
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"overview-{backend.lower()}.json").write_text(
        json.dumps({"cases": args.cases, "api": api, "chromium": load}, indent=2)
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""A/B: bench_cases.py's HTTP benchmark on PostgreSQL, a base commit beside the current code.

    .venv/bin/python bench/bench_ab.py --base 21a96a3 [--rounds 3] [--duration 10]
        [--workers 1]

The base commit is checked out into a temporary git worktree (removed afterwards). Every
process of a side runs with that side's `src` first on PYTHONPATH: the base worktree's, or
this checkout's for the new side. A path on PYTHONPATH comes before the editable install's
.pth entry, and each side's interpreter reports the cityops it imports before anything is
measured (the run stops if it is not the expected one). The installed packages (.venv) are
the same for both; a base whose pinned dependencies differ is reported.

Each side gets its own fresh PostgreSQL database, migrated, seeded and given the demo accounts
by its own code (`cityops demo --no-serve`, as bench_cases.py). Then, `--rounds` times, base
and new in turn: a fresh `cityops serve --workers N` on that side's database, the same warm-up,
POST /api/v1/cases as the 12345 system for `--duration` s, then those cases driven along the
main line for `--duration` s (cases_http.HttpBench.measure, the very code of bench_cases.py),
the database checked against wrk, the server stopped. The order swaps every round (base new,
new base, base new, …) and every run starts after its database is vacuumed and analysed and
PostgreSQL checkpointed. Same wrk settings, reports, seeds and data key on both sides; only
one cityops server runs at a time.

Verdict per phase: median requests/s of the new code over the base's median; at least 0.95
(within 5 %, or faster) passes. Exit status: 0 pass, 1 the new code is more than 5 % slower,
2 the comparison could not run or a round answered errors. Results: bench/results/ab.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from ab_code import REPO, base_worktree, check_code, dependencies, git, side_env
from ab_compare import TOLERANCE, Comparison, compare, run_order
from bench_foundation import (
    RESULTS_DIR,
    WRK_INSTALL_HINT,
    Server,
    database,
    source_state,
)
from cases_workload import DATA_KEY, grid_shapes, reports, sample_points, usable_categories

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
#: Above this share of the machine taken by other processes during a run, warn.
BUSY = 0.10
PHASES = {"create": "POST /api/v1/cases", "act": "POST /api/v1/cases/{id}/actions/{action}"}


@dataclass
class Side:
    """One side of the comparison: its code, its database and what it measured."""

    name: str  # "base" or "new"
    src: Path  # the `src` directory its processes import cityops from
    url: str
    workdir: Path
    setup: Any = None  # cases_http.HttpSetup once prepared
    tokens: tuple[str, str] | None = None
    runs: list[Any] = field(default_factory=list)  # cases_http.HttpRun, every round

    @property
    def env(self) -> dict[str, str]:
        """What every cityops process of this side gets on top of the benchmark's environment."""
        return side_env(self.src)

    def rates(self, phase: str) -> list[float]:
        """Requests per second of each round of a phase."""
        return [r.wrk.requests_per_s for r in self.runs if r.phase == phase]

    def cpu_ms(self, phase: str) -> float:
        """Median over the rounds of a phase: CPU ms per request, the server and PostgreSQL's."""
        return statistics.median(cpu_per_request(r) for r in self.runs if r.phase == phase)


def cpu_per_request(run: Any) -> float:
    """CPU milliseconds that one request of a run took from the server and PostgreSQL."""
    seconds = run.cpu.seconds
    return 1000 * (seconds["server"] + seconds["postgres"]) / max(run.wrk.requests, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the wrk and warm-up defaults are bench_cases.py's."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--base", required=True, help="the commit (or ref) to compare against")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each side, alternating")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--http-warmup", type=float, default=2.0, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="server workers, both sides")
    parser.add_argument("--pg-server", default=DEFAULT_SERVER, help="no database name")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    opts = parser.parse_args(argv)
    if not (1 <= opts.rounds <= 9 and 1 <= opts.duration <= 120 and 1 <= opts.workers <= 8):
        parser.error("keep --rounds in 1..9, --duration in 1..120 s and --workers in 1..8")
    if not (1 <= opts.threads <= opts.connections <= 512):
        parser.error("--threads in 1..connections, --connections up to 512")
    return opts


def prepare(side: Side) -> None:
    """Migrate, seed and open the accounts with the side's own code (`cityops demo --no-serve`)."""
    from cases_http import prepare as prepare_http

    side.workdir.mkdir(parents=True, exist_ok=True)
    side.setup = prepare_http("postgresql", side.url, side.workdir, DATA_KEY, side.env)


def write_workload(sides: list[Side], path: Path) -> None:
    """The reports both sides receive (bench_cases.py's), after checking both seeded one map."""
    from cases_http import write_reports

    maps = [asyncio.run(grid_shapes(side.url)) for side in sides]
    if sorted(g.wkb for g in maps[0]) != sorted(g.wkb for g in maps[1]):
        print("  WARNING: base and new seeded different grid polygons", flush=True)
    points = sample_points(maps[-1], 5000, seed=7)
    write_reports(path, reports(5000, points, usable_categories(), "http"))


def measure(side: Side, rnd: int, opts: Any, reports_file: Path) -> list[Any]:
    """One round of one side: a fresh server, warm-up, the phases, the server stopped."""
    from cases_http import HttpBench, open_accounts

    argv = [side.setup.cityops, "serve", "--workers", str(opts.workers)]
    server = Server(f"{side.name}-r{rnd}", argv, side.workdir, side.setup.env)
    try:
        server.wait_ready("/readyz")
        side.tokens = side.tokens or open_accounts(side.setup, server.port)
        bench = HttpBench(side.setup, server, opts, side.tokens)
        runs = bench.measure(opts.workers, f"{side.name}{rnd}-{int(time.time())}", reports_file)
    finally:
        server.stop()
    logs = server.log_summary()
    for run in runs:
        run.server_log = logs
    return runs


def flaws(run: Any) -> list[str]:
    """What makes a round's figure unusable: errors, or a database that disagrees with wrk."""
    found = []
    if run.wrk.non_2xx or any(run.wrk.socket_errors.values()):
        found.append(f"non-2xx {run.wrk.non_2xx}, socket errors {run.wrk.socket_errors}")
    if not run.checked.get("consistent", False):
        found.append(f"the database disagrees with wrk: {run.checked}")
    if run.server_log.get("unhandled_exceptions"):
        found.append(f"{run.server_log['unhandled_exceptions']} unhandled exceptions")
    return found


def show(side: Side, rnd: int, run: Any) -> None:
    """Print one measured run."""
    w = run.wrk
    problems = flaws(run)
    print(
        f"  round {rnd} {side.name:<4} {run.phase:<6} {w.requests_per_s:>8,.1f} req/s  "
        f"p50 {w.p50_ms} ms  p99 {w.p99_ms} ms  CPU {cpu_per_request(run):.2f} ms/req "
        f"(server + PostgreSQL); others took {run.cpu.other:.0%} of the machine"
        + (f"  INVALID: {'; '.join(problems)}" if problems else ""),
        flush=True,
    )


async def quiesce(url: str) -> None:
    """Vacuum and analyse a side's database, then checkpoint the server.

    Done before every run of either side, so no run pays for the dirty buffers or the
    autovacuum work that the run before it (of the other side) left behind.
    """
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def run_rounds(sides: dict[str, Side], opts: Any, reports_file: Path) -> None:
    """One run of each side per round (see `run_order`): one server at a time."""
    for n, name in enumerate(run_order(opts.rounds)):
        side, rnd = sides[name], n // 2 + 1
        asyncio.run(quiesce(side.url))
        for run in measure(side, rnd, opts, reports_file):
            side.runs.append(run)
            show(side, rnd, run)


def verdicts(sides: dict[str, Side]) -> dict[str, Comparison]:
    """Per phase, the comparison of the medians."""
    return {
        phase: compare(sides["base"].rates(phase), sides["new"].rates(phase)) for phase in PHASES
    }


def record(
    sides: dict[str, Side], found: dict[str, Comparison], opts: Any, meta: dict[str, Any]
) -> dict[str, Any]:
    """The JSON record of the run."""
    return meta | {
        "benchmark": "ab",
        "finished_at": datetime.now(UTC).isoformat(),
        "settings": {k: v for k, v in vars(opts).items() if k != "wrk"},
        "tolerance": TOLERANCE,
        "phases": {
            phase: {
                "base_median": c.base_median,
                "new_median": c.new_median,
                "ratio": round(c.ratio, 4),
                "acceptable": c.acceptable,
                "cpu_ms_per_request": {n: side.cpu_ms(phase) for n, side in sides.items()},
            }
            for phase, c in found.items()
        },
        "runs": {name: [run.record() for run in side.runs] for name, side in sides.items()},
    }


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so servers stop and the worktree and databases go."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def announce(opts: Any, base_src: Path) -> tuple[str, dict[str, Any]]:
    """Print what is compared; the base commit and the state of the current checkout."""
    base_commit = git("rev-parse", "HEAD", cwd=base_src)
    new_state = source_state()
    print(
        f"base {base_commit[:10]} ({opts.base}) in a temporary worktree; new: this checkout "
        f"{new_state.get('commit', '?')[:10]}"
        f"{' with uncommitted changes' if new_state.get('uncommitted_changes') else ''}",
        flush=True,
    )
    if dependencies(base_src.parent) != dependencies(REPO):
        print("  WARNING: the base pins other dependencies; both run on .venv's", flush=True)
    return base_commit, new_state


def make_sides(opts: Any, base_src: Path, workdir: Path, stack: ExitStack) -> dict[str, Side]:
    """Both sides checked, each with its own database prepared by its own code."""
    suffix = f"{os.getpid()}_{int(time.time()) % 100_000}"
    sides = {
        name: Side(
            name, src, f"{opts.pg_server.rstrip('/')}/cityops_ab_{name}_{suffix}", workdir / name
        )
        for name, src in (("base", base_src), ("new", REPO / "src"))
    }
    for side in sides.values():
        side.workdir.mkdir()
        check_code(side.name, side.src, side.workdir)
    for side in sides.values():
        stack.enter_context(database(side.url, side.workdir))
        print(f"  {side.name}: migrating and seeding with its own code …", flush=True)
        prepare(side)
    return sides


def conclude(sides: dict[str, Side], base_commit: str, meta: dict[str, Any], opts: Any) -> int:
    """Print and record the verdict; the exit status."""
    found = verdicts(sides)
    print(f"\nA/B, HTTP on PostgreSQL: base {base_commit[:10]} against new")
    for phase, comparison in found.items():
        print("  " + comparison.summary(f"{phase} ({PHASES[phase]})"))
        base_cpu, new_cpu = sides["base"].cpu_ms(phase), sides["new"].cpu_ms(phase)
        print(
            f"    for information, median CPU ms per request (server + PostgreSQL): "
            f"base {base_cpu:.2f}, new {new_cpu:.2f} (new/base {new_cpu / base_cpu:.3f})"
        )
    busiest = max(run.cpu.other for side in sides.values() for run in side.runs)
    if busiest > BUSY:
        print(
            f"  WARNING: other work took up to {busiest:.0%} of the machine during a run: "
            f"on a machine this busy the rounds differ by far more than {TOLERANCE:.0%}, "
            "so the verdict says little; run on a quiet machine"
        )
    invalid = [run for side in sides.values() for run in side.runs if flaws(run)]
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / "ab.json"
    out.write_text(json.dumps(record(sides, found, opts, meta), indent=2, default=str) + "\n")
    print(f"results: {out}")
    if invalid:
        print(f"FAILED: {len(invalid)} run(s) answered errors; the figures do not count")
        return 2
    return 0 if all(c.acceptable for c in found.values()) else 1


def compare_commits(opts: Any, workdir: Path) -> int:
    """Prepare both sides, run the rounds, print and record the verdict; the exit status."""
    with ExitStack() as stack:
        base_src = stack.enter_context(base_worktree(opts.base, workdir)) / "src"
        base_commit, new_state = announce(opts, base_src)
        sides = make_sides(opts, base_src, workdir, stack)
        reports_file = workdir / "reports.txt"
        write_workload(list(sides.values()), reports_file)
        print(
            f"{opts.rounds} rounds per side, alternating; {opts.workers} worker(s); wrk "
            f"-t{opts.threads} -c{opts.connections}, {opts.duration:g} s per phase after "
            f"{opts.http_warmup:g} s of warm-up",
            flush=True,
        )
        run_rounds(sides, opts, reports_file)
    meta = {"base": {"ref": opts.base, "commit": base_commit}, "new": new_state}
    return conclude(sides, base_commit, meta, opts)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; the exit status (see the module's docstring)."""
    opts = parse_args(argv)
    opts.wrk = shutil.which("wrk")
    if opts.wrk is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    stop_on_sigterm()
    workdir = Path(tempfile.mkdtemp(prefix="cityops-ab-"))
    try:
        return compare_commits(opts, workdir)
    except SystemExit as stop:  # raised with a message: a setup step refused or failed
        if isinstance(stop.code, int):
            raise
        print(f"FAILED: {stop.code}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        if opts.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

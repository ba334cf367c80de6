"""Run every benchmark in turn (each prints its own table and ratios); `make bench` calls this.

Each script exits 0 when its goals are met, 1 when a goal is missed and 2 when it could not run
(a missing anchor or tool is a failure, never a silent skip). This runner goes on after a
failure, lists every script that did not exit 0 with its status, and exits with the highest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Script and arguments, in the order docs/benchmarks.md lists them.
BENCHMARKS: list[list[str]] = [
    ["bench_foundation.py"],
    ["bench_crs.py"],
    ["bench_lookup.py"],
    ["bench_geocode.py"],
    ["bench_tiles.py"],
    ["bench_cases.py"],
    ["bench_overview.py"],
    ["bench_overview.py", "--pg"],
    ["bench_bus.py"],
    ["bench_iot.py"],
    ["bench_scenarios.py"],
    ["bench_sharing.py", "--pg"],
    ["bench_video.py"],
    ["bench_command.py"],
    ["bench_audit.py"],
    ["bench_signin_timing.py"],
    ["bench_screen_soak.py"],
]
MEANING = {1: "a goal missed", 2: "could not run"}


def verdict(statuses: dict[str, int]) -> tuple[int, list[str]]:
    """The runner's exit status (the highest of the scripts') and a line per script not at 0."""
    lines = [
        f"  {name}: exit {code} ({MEANING.get(code, 'failed')})"
        for name, code in statuses.items()
        if code != 0
    ]
    worst = max(statuses.values(), default=0)
    return (worst if worst > 0 else (1 if worst < 0 else 0)), lines


def main() -> int:
    """Run each benchmark; non-zero when any of them did not exit 0."""
    statuses: dict[str, int] = {}
    for script, *args in BENCHMARKS:
        name = " ".join([script, *args])
        print(f"\n===== {name}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / script), *args], check=False)
        statuses[name] = done.returncode
    status, lines = verdict(statuses)
    print("\n===== all benchmarks: " + ("goals met" if status == 0 else "FAILED"))
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())

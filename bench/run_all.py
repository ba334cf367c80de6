"""Run every benchmark in turn (each prints its own table and ratios); `make bench` calls this."""

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
]


def main() -> int:
    """Run each benchmark; return non-zero if any failed to run."""
    failed = []
    for script, *args in BENCHMARKS:
        print(f"\n===== {script} {' '.join(args)}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / script), *args], check=False)
        if done.returncode not in (0, 1):  # 1: ran, but a goal was missed
            failed.append(script)
    if failed:
        print(f"\nfailed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Coordinate conversions per second: cityops.geo.crs beside its own scalar loop and raw pyproj.

Run: .venv/bin/python bench/bench_crs.py [--points 1000000] [--scalar-points 20000] [--repeats 7]

Workload: N seeded points uniform over Songjiang (lon 121.0–121.45, lat 30.85–31.20), all inside
the GCJ-02 box so every point is really offset. Each figure is the best of several runs:
- WGS84 → GCJ-02 with `transform_array` (goal: >= 5 M points/s), against a Python loop of the
  scalar `transform` on a smaller sample, scaled to points/s;
- GCJ-02 → WGS84 with `transform_array` (the iterative inverse), for reference;
- WGS84 → EPSG:4549 with `transform_array`, against a bare pyproj `Transformer.transform` of
  the same operation (CGCS2000 → zone 40, always_xy) on the same arrays, run turn about.
Exit status: 0 when the goal is met, 1 when it is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version

import numpy as np
from pyproj import Transformer

from cityops.geo.crs import transform, transform_array

GOAL_GCJ = 5_000_000.0


def best_rate(work: Callable[[], object], n: int, repeats: int) -> float:
    """Points per second of the best of several runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return n / min(times)


def best_rates_interleaved(
    first: Callable[[], object], second: Callable[[], object], n: int, repeats: int
) -> tuple[float, float]:
    """Points per second of the best run of each of two workloads, run turn about."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for work, spent in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            work()
            spent.append(time.perf_counter() - start)
    return n / min(times[0]), n / min(times[1])


def songjiang_points(n: int, seed: int = 20261124) -> tuple[np.ndarray, np.ndarray]:
    """N seeded points uniform over Songjiang's bounding box."""
    rng = np.random.default_rng(seed)
    return rng.uniform(121.0, 121.45, n), rng.uniform(30.85, 31.20, n)


def row(label: str, rate: float, ratio: str = "") -> None:
    """Print one line of the table."""
    print(f"  {label:<52}{rate:>14,.0f}{ratio:>10}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; 0 when the goal is met, 1 otherwise."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--scalar-points", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    n, repeats = args.points, args.repeats
    lon, lat = songjiang_points(n)
    glon, glat = transform_array(lon, lat, "wgs84", "gcj02")
    slon, slat = lon[: args.scalar_points].tolist(), lat[: args.scalar_points].tolist()
    raw = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)

    def scalar_loop() -> object:
        return [transform(x, y, "wgs84", "gcj02") for x, y in zip(slon, slat, strict=True)]

    gcj = best_rate(lambda: transform_array(lon, lat, "wgs84", "gcj02"), n, repeats)
    scalar = best_rate(scalar_loop, len(slon), max(1, repeats // 2))
    inverse = best_rate(lambda: transform_array(glon, glat, "gcj02", "wgs84"), n, repeats)
    ours_gk, raw_gk = best_rates_interleaved(
        lambda: transform_array(lon, lat, "wgs84", "epsg:4549"),
        lambda: raw.transform(lon, lat),
        n,
        repeats,
    )

    print(
        f"coordinate conversions, {n:,} points over Songjiang; best of {repeats}; "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
        f"numpy {version('numpy')}, pyproj {version('pyproj')}"
    )
    print(f"  {'workload':<52}{'points/s':>14}{'ratio':>10}")
    row("WGS84 -> GCJ-02, transform_array (vectorised)", gcj)
    row(
        f"WGS84 -> GCJ-02, transform() loop ({len(slon):,} pts, scaled)",
        scalar,
        f"{gcj / scalar:>9.1f}x",
    )
    row("GCJ-02 -> WGS84, transform_array (iterative inverse)", inverse)
    row("WGS84 -> EPSG:4549, transform_array", ours_gk)
    row(
        "WGS84 -> EPSG:4549, raw pyproj Transformer.transform", raw_gk, f"{ours_gk / raw_gk:>10.2f}"
    )
    print(f"  scalar transform(): {1e6 / scalar:.1f} us per point")
    met = gcj >= GOAL_GCJ
    verdict = "met" if met else "NOT met"
    print(f"  goal: >= {GOAL_GCJ / 1e6:.0f} M points/s for WGS84 -> GCJ-02 (vectorised): {verdict}")
    print("  ratios: vectorised / scalar loop; cityops / raw pyproj (1.00 = no overhead)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

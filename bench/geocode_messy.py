"""The messy part of bench_geocode.py: per-kind scores, wrong placements, confidence bands.

Test sets: tests/geo/data/messy-310117-{dev,heldout}.csv, SYNTHETIC (tests/geo/data/make_messy.py).
Scores are reported on the held-out set; the dev set is the one the rules were tuned on.

A tool *places* an address when it names one of our units (or a community) for it; cityops
places at its answer's level (a unit-level answer places no community). A placement is *wrong*
when its unit or community is not the expected one, including any placement of an address that
does not determine that level (an outside, ambiguous or road-only address), and, for an address
outside the district, any answer inside it (district level included).
"""

from __future__ import annotations

import atexit
import csv
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "geo" / "data"
SETS = {"dev": DATA / "messy-310117-dev.csv", "heldout": DATA / "messy-310117-heldout.csv"}
#: The geocoder before issue 21 (the commit this work started from): the throughput anchor.
BASELINE_REV = "21a96a3"
BANDS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01))
GOALS = {"wrong": 0.01, "wrong_trusted": 0.0, "town": 0.97, "community": 0.90, "speed": 0.5}
TRUSTED = 0.8


@dataclass(frozen=True)
class Case:
    """One messy address and what it determines."""

    address: str
    kind: str
    unit: str
    community: str


@dataclass(frozen=True)
class Placed:
    """What a tool placed: unit, community, whether inside the district at all, confidence."""

    unit: str | None
    community: str | None
    inside: bool
    confidence: float | None


@dataclass
class Scores:
    """Counts over a group of cases."""

    n: int = 0
    towns: int = 0
    town_ok: int = 0
    communities: int = 0
    community_ok: int = 0
    wrong: int = 0
    bands: dict[int, list[int]] = field(default_factory=dict)  # band → [placed, wrong]

    def add(self, case: Case, placed: Placed) -> None:
        """Count one answer."""
        self.n += 1
        if case.unit:
            self.towns += 1
            self.town_ok += placed.unit == case.unit
        if case.community:
            self.communities += 1
            self.community_ok += placed.community == case.community
        wrong = is_wrong(case, placed)
        self.wrong += wrong
        if placed.confidence is not None and (placed.unit or placed.inside):
            band = next(i for i, (lo, hi) in enumerate(BANDS) if lo <= placed.confidence < hi)
            counts = self.bands.setdefault(band, [0, 0])
            counts[0] += 1
            counts[1] += wrong

    def rate(self, part: int, whole: int) -> float | None:
        """part / whole, None when nothing to count."""
        return part / whole if whole else None


def is_wrong(case: Case, placed: Placed) -> bool:
    """Whether the answer places the address somewhere it is not."""
    if case.kind == "outside":
        return placed.inside or placed.unit is not None
    if placed.unit is not None and placed.unit != case.unit:
        return True
    return placed.community is not None and placed.community != case.community


def load(name: str) -> list[Case]:
    """A messy set, comment lines skipped."""
    lines = [ln for ln in SETS[name].read_text("utf-8").splitlines() if not ln.startswith("#")]
    return [
        Case(r["address"], r["kind"], r["expected_unit_code"], r["expected_community_code"])
        for r in csv.DictReader(lines)
    ]


def baseline_module(rev: str = BASELINE_REV) -> ModuleType:
    """The geocoder module as of `rev`, loaded beside today's (needs git)."""
    folder = Path(tempfile.mkdtemp(prefix="geo-baseline-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    package = folder / "baseline_geo"
    package.mkdir()
    (package / "__init__.py").write_text("", "utf-8")
    for name in ("address", "geocode"):
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:src/cityops/geo/{name}.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # The baseline's own parser; the table it reads has moved since (geo/address/).
        text = text.replace("from cityops.geo.address import", "from baseline_geo.address import")
        text = text.replace(
            "from cityops.geo.models import", "from cityops.geo.address.models import"
        )
        (package / f"{name}.py").write_text(text, "utf-8")
    sys.path.insert(0, str(folder))
    spec = importlib.util.find_spec("baseline_geo.geocode")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_geo.geocode"] = module
    spec.loader.exec_module(module)
    return module


def cityops_answer(geocoder: Any, text: str) -> Placed:
    """A cityops (or baseline) answer as a placement."""
    answer = geocoder.geocode(text)
    level = str(answer.level)
    parsed = answer.parsed
    unit = parsed.unit.code if parsed.unit and level in ("unit", "community") else None
    community = parsed.community.code if parsed.community and level == "community" else None
    return Placed(unit, community, level != "none", float(answer.confidence))


def jionlp_answer(jio: Any, names: Any, text: str) -> Placed:
    """jionlp's answer as a placement: its town and village when they are ours."""
    found = jio.parse_location(text, town_village=True)
    inside = found.get("county") == "松江区"
    unit = names.unit(found.get("town"))
    community = names.community(found.get("village")) if unit else None
    return Placed(unit, community, inside or unit is not None, None)


def score(cases: Sequence[Case], answer: Callable[[str], Placed]) -> dict[str, Scores]:
    """Scores per kind and over all ('all')."""
    groups: dict[str, Scores] = {"all": Scores()}
    for case in cases:
        placed = answer(case.address)
        groups["all"].add(case, placed)
        groups.setdefault(case.kind, Scores()).add(case, placed)
    return groups


def speeds(
    tools: dict[str, Callable[[str], object]], texts: Sequence[str], rounds: int
) -> dict[str, float]:
    """Addresses per second of each tool: the best of `rounds` passes, the tools alternating
    pass by pass so that both see the same load on a shared machine."""
    for work in tools.values():
        for text in texts[:20]:
            work(text)
    best = dict.fromkeys(tools, float("inf"))
    for _ in range(rounds):
        for name, work in tools.items():
            start = time.perf_counter()
            for text in texts:
                work(text)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: len(texts) / seconds for name, seconds in best.items()}


def _pct(value: float | None) -> str:
    return "  n/a " if value is None else f"{value:6.1%}"


def print_kinds(tools: dict[str, dict[str, Scores]]) -> list[dict[str, Any]]:
    """One row per kind and tool: town, community, wrong placement."""
    print(f"\n{'kind':<12} {'tool':<10} {'n':>4} {'town':>7} {'comm.':>7} {'wrong':>7}")
    rows = []
    kinds = sorted({k for groups in tools.values() for k in groups}, key=lambda k: (k == "all", k))
    for kind in kinds:
        for tool, groups in tools.items():
            s = groups.get(kind)
            if s is None:
                continue
            town, comm = s.rate(s.town_ok, s.towns), s.rate(s.community_ok, s.communities)
            wrong = s.rate(s.wrong, s.n)
            print(f"{kind:<12} {tool:<10} {s.n:>4} {_pct(town)} {_pct(comm)} {_pct(wrong)}")
            rows.append({"kind": kind, "tool": tool, "n": s.n, "town": town, "community": comm})
            rows[-1]["wrong_placement"] = wrong
    return rows


def print_bands(tools: dict[str, dict[str, Scores]]) -> dict[str, list[list[int]]]:
    """Placements and wrong placements per confidence band, for the tools that give one."""
    print("\nPlacements per confidence band (placed / wrong)")
    labels = [f"[{lo:.1f},{min(hi, 1.0):.1f}{']' if hi > 1 else ')'}" for lo, hi in BANDS]
    print(f"{'tool':<10} " + " ".join(f"{label:>12}" for label in labels))
    out = {}
    for tool, groups in tools.items():
        bands = groups["all"].bands
        if not bands:
            continue
        cells = [bands.get(i, [0, 0]) for i in range(len(BANDS))]
        print(f"{tool:<10} " + " ".join(f"{f'{p} / {w}':>12}" for p, w in cells))
        out[tool] = cells
    return out


def goals(ours: dict[str, Scores], speed_ratio: float) -> list[str]:
    """The goals missed (empty when all are met)."""
    s = ours["all"]
    trusted = s.bands.get(len(BANDS) - 1, [0, 0])
    checks = [
        ("wrong placement ≤ 1 %", s.wrong / s.n <= GOALS["wrong"]),
        ("no wrong placement at confidence ≥ 0.8", trusted[1] == 0),
        ("town ≥ 97 %", s.town_ok / s.towns >= GOALS["town"]),
        ("community ≥ 90 %", s.community_ok / s.communities >= GOALS["community"]),
        ("throughput ≥ half of the baseline's", speed_ratio >= GOALS["speed"]),
    ]
    print("\nGoals (held-out set):")
    for name, ok in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    return [name for name, ok in checks if not ok]

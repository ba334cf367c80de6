"""Component IDs (部件标识码) as sources send them: checked part by part against this district.

16 digits = 6-digit county code + 2-digit major class + 2-digit minor class + 6-digit serial
(see `cityops.cases.catalog.shipped`). A faulty ID is refused naming the part at fault, so the sending
system's operator can tell a wrong district from a class our catalogue lacks.
"""

from __future__ import annotations

import re
from typing import Any

from cityops.cases.catalog.shipped import (
    Category,
    ComponentId,
    Kind,
    UnknownCategoryError,
    shipped_catalog,
)
from cityops.kit.errors import ProblemError

_DIGITS16 = re.compile(r"^[0-9]{16}$")


class ComponentIdError(ValueError):
    """A component ID that does not fit this district or catalogue; `part` names the culprit."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
        self.message = message


def check_component_id(text: str, district: str) -> tuple[ComponentId, Category]:
    """Split and check an ID: 16 digits, our county, a known major and minor class, serial ≠ 0."""
    value = text.strip()
    if not _DIGITS16.match(value):
        raise ComponentIdError(
            "format", f"component_id must be 16 digits, got {len(value)} characters"
        )
    parsed = ComponentId(value[:6], value[6:8], value[8:10], value[10:])
    if parsed.county != district:
        raise ComponentIdError(
            "county",
            f"county code {parsed.county} (digits 1-6) is not this district ({district})",
        )
    catalog = shipped_catalog(Kind.COMPONENT)
    try:
        major = catalog.major(parsed.major)
    except UnknownCategoryError:
        known = ", ".join(m.code for m in catalog.majors)
        raise ComponentIdError(
            "major",
            f"major class {parsed.major} (digits 7-8) is not a component major class ({known})",
        ) from None
    try:
        category = catalog.get(parsed.category_key)
    except UnknownCategoryError:
        raise ComponentIdError(
            "minor",
            f"minor class {parsed.minor} (digits 9-10) does not exist under major class "
            f"{major.code} {major.name}",
        ) from None
    if parsed.serial == "000000":
        raise ComponentIdError("serial", "serial 000000 (digits 11-16) is not a valid serial")
    return parsed, category


def component_problem(exc: ComponentIdError, loc: list[str]) -> ProblemError:
    """A 422 naming the field and the faulty part of the ID."""
    error: dict[str, Any] = {
        "loc": loc,
        "msg": exc.message,
        "type": f"component_id.{exc.part}",
        "part": exc.part,
    }
    return ProblemError(422, "validation", exc.message, errors=[error])

"""Template parameters: each with a type, a default and bounds; overrides must stay inside them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cityops.kit.errors import ProblemError

ParamType = Literal["number", "numbers", "text", "choice", "polygon"]

#: The parameters each kind reads (a template must define every one of them).
KIND_PARAMS: dict[str, frozenset[str]] = {
    "threshold": frozenset({"key", "lines", "direction", "duration_s", "hysteresis"}),
    "rate": frozenset({"key", "limit_per_min", "direction", "window_s", "hysteresis"}),
    "no_data": frozenset({"timeout_s", "key"}),
    "composite": frozenset(
        {"key_a", "line_a", "direction_a", "key_b", "line_b", "direction_b", "window_s"}
    ),
    "geofence": frozenset({"lon_key", "lat_key", "polygon", "mode"}),
}
MAX_LIST = 1000


class ParamSpec(BaseModel):
    """One parameter of a template: what it is, its default, and how far a town may move it."""

    model_config = ConfigDict(extra="forbid")

    type: ParamType
    label: str = Field(default="", max_length=80, pattern=r"^[^\x00]*$")
    unit: str = Field(default="", max_length=20, pattern=r"^[^\x00]*$")
    default: Any = None
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    choices: list[str] = Field(default_factory=list, max_length=20)
    overridable: bool = True  # False: fixed by the district


def bad_params(detail: str, **where: Any) -> ProblemError:
    """A 422 problem naming the parameter that is wrong."""
    return ProblemError(422, "bad-scenario-params", detail, **where)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_params(f"{name} must be a finite number", param=name)
    return float(value)


def _bounded(name: str, spec: ParamSpec, value: Any) -> float:
    number = _finite(name, value)
    if spec.min is not None and number < spec.min:
        raise bad_params(f"{name} = {number:g} is below its bound {spec.min:g}", param=name)
    if spec.max is not None and number > spec.max:
        raise bad_params(f"{name} = {number:g} is above its bound {spec.max:g}", param=name)
    return number


def coerce(name: str, spec: ParamSpec, value: Any) -> Any:
    """A value checked against its spec (type, bounds, choices), or a 422 problem."""
    if spec.type == "number":
        return _bounded(name, spec, value)
    if spec.type == "numbers":
        if not isinstance(value, list) or not 1 <= len(value) <= 10:
            raise bad_params(f"{name} must be a list of 1 to 10 numbers", param=name)
        return [_bounded(name, spec, v) for v in value]
    if spec.type == "text":
        if not isinstance(value, str) or len(value) > 64 or "\x00" in value:
            raise bad_params(f"{name} must be text of at most 64 characters", param=name)
        return value
    if spec.type == "choice":
        if value not in spec.choices:
            raise bad_params(f"{name} must be one of {', '.join(spec.choices)}", param=name)
        return value
    return _polygon(name, spec, value)


def _polygon(name: str, spec: ParamSpec, value: Any) -> list[list[float]]:
    if not isinstance(value, list) or not 4 <= len(value) <= MAX_LIST:
        raise bad_params(f"{name} must be a closed ring of 4 to {MAX_LIST} points", param=name)
    ring: list[list[float]] = []
    for point in value:
        if not isinstance(point, list) or len(point) != 2:
            raise bad_params(f"{name}: each point is [lon, lat]", param=name)
        lon, lat = _finite(name, point[0]), _finite(name, point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise bad_params(f"{name}: ({lon}, {lat}) is not a WGS 84 position", param=name)
        ring.append([lon, lat])
    if ring[0] != ring[-1]:
        raise bad_params(f"{name}: the ring must end where it starts", param=name)
    return ring


def check_spec(kind: str, specs: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """The defaults of a template's parameters, checked: every one the kind needs, in bounds."""
    needed = KIND_PARAMS.get(kind)
    if needed is None:
        raise bad_params(f"unknown kind {kind!r}; one of {', '.join(sorted(KIND_PARAMS))}")
    missing = needed - set(specs)
    if missing:
        raise bad_params(f"a {kind} template needs {', '.join(sorted(missing))}")
    extra = set(specs) - needed
    if extra:
        raise bad_params(f"a {kind} template does not read {', '.join(sorted(extra))}")
    for name, spec in specs.items():
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            raise bad_params(f"{name}: min is above max", param=name)
    return {name: coerce(name, spec, spec.default) for name, spec in specs.items()}


def merged(specs: Mapping[str, ParamSpec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters an instance runs with: defaults, then its overrides inside the bounds."""
    unknown = set(overrides) - set(specs)
    if unknown:
        raise bad_params(f"no parameter {', '.join(sorted(unknown))} in this template")
    values = {name: spec.default for name, spec in specs.items()}
    for name, value in overrides.items():
        if not specs[name].overridable:
            raise bad_params(f"{name} is fixed by the district", param=name)
        values[name] = value
    checked = {name: coerce(name, specs[name], value) for name, value in values.items()}
    lines = checked.get("lines")
    if isinstance(lines, list) and lines != sorted(lines, reverse=checked["direction"] == "below"):
        raise bad_params("lines must be ordered from the first level to the last", param="lines")
    return checked

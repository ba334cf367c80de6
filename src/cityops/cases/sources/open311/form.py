"""The POST requests form of GeoReport v2, parsed strictly: every refusal names its field.

The body is `application/x-www-form-urlencoded` UTF-8. Known fields may appear once;
`attribute[CODE]` (or `attribute[CODE][]` for list values) carries a service's attributes;
unknown fields (such as `jurisdiction_id`, which one jurisdiction may ignore) are ignored.
An empty value counts as not given, as the spec's "Optional Arguments" say.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from cityops.cases.http.schemas import PHONE
from cityops.kit.errors import ProblemError
from cityops.kit.web import MAX_INT

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 100
#: Field → longest value accepted (description: the spec's 4,000 characters).
LIMITS = {
    "api_key": 200,
    "service_code": 64,
    "lat": 32,
    "long": 32,
    "crs": 32,
    "address_string": 256,
    "address_id": 18,
    "email": 128,
    "device_id": 128,
    "account_id": 128,
    "first_name": 32,
    "last_name": 32,
    "phone": 32,
    "description": 4000,
    "media_url": 512,
    "idempotency_key": 64,
}
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.\-]{1,64})\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s\x00]{1,64}@[A-Za-z0-9.\-]{1,63}\.[A-Za-z]{2,24}$")
_URL = re.compile(r"^https?://[^\s\x00]+$")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:~\-]{1,64}$")
_PHONE = re.compile(PHONE)
_CJK = re.compile(r"^[\u3400-\u9fff\u00b7]+$")
_ID = re.compile(r"^[0-9]{1,10}$")


def is_id(text: str) -> bool:
    """An ASCII-digit id that every backend's integer column holds (1 … 2³¹-1)."""
    return bool(_ID.match(text)) and 0 < int(text) <= MAX_INT


def bad(field_name: str, message: str) -> ProblemError:
    """400 naming one form field (GeoReport: "400 for any other error")."""
    error = {"loc": ["body", field_name], "msg": message, "type": "value_error"}
    return ProblemError(400, "validation", f"{field_name}: {message}", errors=[error])


@dataclass(slots=True)
class ReportForm:
    """The fields of one POST requests body, checked for shape (not yet for meaning)."""

    values: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """A field's value, or None when it is absent or empty."""
        return self.values.get(name) or None

    def point(self) -> tuple[float, float] | None:
        """(long, lat) when both are given; 400 when only one is or either is not a number."""
        lat, lon = self.get("lat"), self.get("long")
        if lat is None and lon is None:
            return None
        if lat is None or lon is None:
            raise bad("lat" if lat is None else "long", "lat and long must be sent together")
        return _number(lon, "long", 180.0), _number(lat, "lat", 90.0)

    def name(self) -> str | None:
        """first_name + last_name as one name: 张 + 三 → 张三, John + Smith → John Smith."""
        first, last = self.get("first_name"), self.get("last_name")
        if first and last:
            joined = f"{last}{first}" if _CJK.match(first + last) else f"{first} {last}"
            return joined[:64]
        return first or last


def _number(text: str, name: str, bound: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad(name, f"{text[:32]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise bad(name, f"must be a number between -{bound:g} and {bound:g} (WGS84 degrees)")
    return value


def _check(name: str, value: str) -> None:
    if "\x00" in value:
        raise bad(name, "must not contain NUL bytes")
    limit = LIMITS.get(name, 256)
    if len(value) > limit:
        raise bad(name, f"is {len(value)} characters long; at most {limit}")
    if not value:
        return
    if name == "email" and not _EMAIL.match(value):
        raise bad(name, "is not an email address")
    if name == "phone" and not _PHONE.match(value):
        raise bad(name, "is not a phone number (digits, +, -, spaces, brackets)")
    if name == "media_url" and not _URL.match(value):
        raise bad(name, "must be an http(s) URL")
    if name == "idempotency_key" and not KEY_PATTERN.match(value):
        raise bad(name, "use 1-64 characters of A-Z a-z 0-9 . _ : ~ -")
    if name == "address_id" and not is_id(value):
        raise bad(name, "must be the number of a standard address (标准地址库 id)")


def _decode(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeDecodeError:
        raise bad("body", "is not UTF-8 (GeoReport v2 requires UTF-8 everywhere)") from None
    except ValueError:
        raise bad("body", f"has more than {MAX_FIELDS} fields") from None


def parse_form(body: bytes, content_type: str) -> ReportForm:
    """Parse and shape-check a POST requests body."""
    media = content_type.split(";")[0].strip().lower()
    if media != FORM_TYPE:
        raise ProblemError(
            415, "unsupported-media-type", f"send {FORM_TYPE} (got {media or 'nothing'})"
        )
    form = ReportForm()
    for key, value in _decode(body):
        match = _ATTRIBUTE.match(key)
        if match:
            _check(f"attribute[{match.group(1)}]", value)
            form.attributes.setdefault(match.group(1), []).append(value)
            continue
        if key.startswith("attribute"):
            raise bad(key[:80], "write attributes as attribute[CODE]=value")
        if key not in LIMITS:
            continue  # jurisdiction_id and fields of other spec versions: ignored
        if key in form.values:
            raise bad(key, "is given more than once")
        _check(key, value)
        form.values[key] = value.strip()
    return form

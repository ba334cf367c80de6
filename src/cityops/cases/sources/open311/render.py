"""GeoReport v2 wire formats: JSON and XML bodies, and errors as GeoReport arrays or RFC 9457.

GeoReport v2 (https://wiki.open311.org/GeoReport_v2) requires XML and allows JSON; its JSON is
the mechanical mapping of the XML (lists become arrays). Errors are a list of
`{"code", "description"}`. A client that asks for `application/problem+json` in `Accept` gets
the platform's RFC 9457 document instead, with the same HTTP status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

import orjson
from fastapi import Request
from starlette.responses import Response

from cityops.kit.errors import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, problem_response

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

#: The element name of one item of each list, as the spec's XML examples write them.
LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
#: Characters XML 1.0 cannot carry at all; text from other sources may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

PROBLEM_TYPES.setdefault(
    "invalid-api-key",
    ("Missing or invalid api_key", "Open311: send a system client's API key as api_key."),
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list):
        element.extend(_element(LIST_ITEMS.get(tag, "item"), item) for item in value)
    elif value is not None:
        element.text = _text(value)
    return element


def to_xml(root: str, data: Any) -> bytes:
    """The XML document of a GeoReport body (`root` names the outer element)."""
    return (XML_DECLARATION + ET.tostring(_element(root, data), encoding="unicode")).encode()


def render(data: Any, fmt: str, root: str, status: int = 200) -> Response:
    """A GeoReport body in the format the URL asked for."""
    if fmt == "xml":
        return Response(to_xml(root, data), status, media_type=XML_TYPE)
    return Response(orjson.dumps(data), status, media_type=JSON_TYPE)


def format_of(request: Request) -> str:
    """The format an error should take: the URL's own (.xml), else JSON."""
    return "xml" if request.url.path.endswith(".xml") else "json"


def wants_problem(request: Request) -> bool:
    """Whether Accept names application/problem+json (with a non-zero quality)."""
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() != PROBLEM_MEDIA_TYPE:
            continue
        quality = next((p[2:] for p in params if p.replace(" ", "").startswith("q=")), "1")
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


def error_response(
    request: Request,
    status: int,
    slug: str,
    description: str,
    errors: Sequence[dict[str, Any]] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """A GeoReport error array (JSON or XML), or RFC 9457 when the client asked for it."""
    if wants_problem(request):
        return problem_response(
            status,
            slug,
            description,
            instance=request.url.path,
            errors=errors,
            extensions=extensions,
        )
    body = [{"code": status, "description": description}]
    if errors and len(errors) > 1:  # one error is the description already; several: each
        body.extend(
            {"code": status, "description": f"{'.'.join(map(str, e.get('loc', ())))}: {e['msg']}"}
            for e in errors
        )
    return render(body, format_of(request), "errors", status)

"""How each simulated source reaches the platform: the same HTTP intake path a real one uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from cityops.simulate.scenarios import Report


@dataclass(frozen=True, slots=True)
class Sent:
    """What the platform answered: the case id when it took the report, else the problem."""

    status: int
    case_id: int | None
    problem: str = ""


class Channel(Protocol):
    """One intake path of one source."""

    @property
    def source(self) -> str:
        """The case source this channel reports as."""
        ...

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """Deliver the report; a repeat of the same report must not open a second case."""
        ...


def _answer(reply: httpx.Response, id_of: str = "id") -> Sent:
    body: Any = reply.json() if reply.content else None
    if reply.status_code in (200, 201) and isinstance(body, dict):
        case = body if id_of in body else body["case"]
        return Sent(reply.status_code, int(case[id_of]))
    detail = body.get("detail", "") if isinstance(body, dict) else reply.text[:200]
    return Sent(reply.status_code, None, str(detail))


@dataclass(frozen=True, slots=True)
class CasesApiChannel:
    """The generic intake endpoint, POST /api/v1/cases, with the source's own credentials."""

    source: str
    token: str

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """POST the report as a case; the source key makes a repeat return the same case."""
        body: dict[str, Any] = {
            "source": self.source,
            "source_key": report.key,
            "category": report.category,
            "text": report.text,
            "location": {"lon": report.lon, "lat": report.lat, "crs": "wgs84"},
            "address": report.address,
            "urgency": report.urgency,
        }
        if report.reporter_phone:
            body["reporter"] = {"phone": report.reporter_phone}
        reply = await http.post(
            "/api/v1/cases", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        return _answer(reply)


@dataclass(frozen=True, slots=True)
class MobileChannel:
    """Grid workers' phones: each worker reports from its own community with its session."""

    source: str
    tokens: dict[str, str]  # community code → bearer token

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """Report as the worker of the report's community."""
        token = self.tokens[report.place.code]
        return await CasesApiChannel(self.source, token).send(http, report)


@dataclass(frozen=True, slots=True)
class UrbanGridChannel:
    """The urban-grid system: 事部件 案卷 with the 16-digit component id for 部件."""

    source: str
    token: str
    district: str

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """POST the 案卷 to /api/v1/sources/grid/reports; the 案卷号 is the source key."""
        kind, _, key = report.category.partition(":")
        body: dict[str, Any] = {
            "report_no": report.key,
            "kind": kind,
            "text": report.text,
            "location": {"lon": report.lon, "lat": report.lat, "crs": "wgs84"},
            "address": report.address,
            "urgency": report.urgency,
        }
        if kind == "component":
            # A synthetic component: the serial comes from the report's own serial number.
            body["component_id"] = f"{self.district}{key}{report.serial % 999_999 + 1:06d}"
        else:
            body["category"] = report.category
        reply = await http.post(
            "/api/v1/sources/grid/reports",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return _answer(reply)


@dataclass(frozen=True, slots=True)
class Open311Channel:
    """An Open311 GeoReport v2 client: a form POST with the api_key, as the spec says."""

    source: str
    api_key: str

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """POST requests.json; the Idempotency-Key header makes a resend return the same id."""
        form = {
            "api_key": self.api_key,
            "service_code": report.category.replace(":", "-"),
            "lat": str(report.lat),
            "long": str(report.lon),
            "address_string": report.address,
            "description": report.text,
        }
        if report.reporter_phone:
            form["phone"] = report.reporter_phone
        reply = await http.post(
            "/open311/v2/requests.json", data=form, headers={"Idempotency-Key": report.key}
        )
        body: Any = reply.json() if reply.content else None
        if reply.status_code in (200, 201) and isinstance(body, list) and body:
            return Sent(reply.status_code, int(body[0]["service_request_id"]))
        problem = body[0].get("description", "") if isinstance(body, list) and body else ""
        return Sent(reply.status_code, None, str(problem or reply.text[:200]))


@dataclass(frozen=True, slots=True)
class HotlineChannel:
    """The 12345 hotline system: its work order, with the order number as the source key."""

    source: str
    token: str

    async def send(self, http: httpx.AsyncClient, report: Report) -> Sent:
        """POST the order to /api/v1/sources/12345/orders; a resend returns the same case."""
        body: dict[str, Any] = {
            "order_no": report.key,
            "request_type": report.category,
            "content": report.text,
            "address": report.address,
            "location": {"lon": report.lon, "lat": report.lat, "crs": "wgs84"},
            "urgency": report.urgency,
        }
        if report.reporter_phone:
            body["caller"] = {"phone": report.reporter_phone}
        reply = await http.post(
            "/api/v1/sources/12345/orders",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        return _answer(reply, "case_id")

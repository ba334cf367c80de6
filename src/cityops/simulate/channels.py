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
        case = body.get("case", body)
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

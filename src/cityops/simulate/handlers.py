"""The handlers the simulator plays: register, dispatch, sign, handle, verify, close, evaluate.

Mostly the main line, sometimes a side path (退单, 延期, 返工, 升级, 作废), with illustrative odds.
The simulator only ever touches cases whose source key carries its prefix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from cityops.simulate.scenarios import SYNTHETIC_MARK

#: state → (action, odds, what the action carries). Odds are illustrative, not measured.
NEXT_STEPS: dict[str, tuple[tuple[str, float, dict[str, Any]], ...]] = {
    "received": (
        ("register", 0.95, {}),
        ("void", 0.05, {"reason": f"{SYNTHETIC_MARK}重复上报，作废"}),
    ),
    "registered": (("dispatch", 1.0, {}),),
    "returned": (
        ("escalate", 0.4, {"reason": f"{SYNTHETIC_MARK}本级无法处置，申请上级协调"}),
        ("dispatch", 0.6, {"comment": f"{SYNTHETIC_MARK}重新派遣"}),
    ),
    "dispatched": (
        ("sign", 0.9, {}),
        ("return", 0.1, {"reason": f"{SYNTHETIC_MARK}不属于本单位职责范围"}),
    ),
    "signed": (
        ("start", 0.92, {}),
        ("request_extension", 0.08, {"reason": f"{SYNTHETIC_MARK}需协调物业", "days": 2}),
    ),
    "in_progress": (("handle", 1.0, {"comment": f"{SYNTHETIC_MARK}已到场处置完毕"}),),
    "handled": (("check", 1.0, {}),),
    "verifying": (
        ("verify", 0.85, {}),
        ("rework", 0.15, {"reason": f"{SYNTHETIC_MARK}现场核查未整改到位"}),
    ),
    "verified": (("close", 1.0, {}),),
    "closed": (("evaluate", 1.0, {}),),
}
DONE = frozenset({"evaluated", "voided", "merged"})


@dataclass(frozen=True, slots=True)
class Step:
    """One action to take on a case, with its body."""

    action: str
    body: dict[str, Any]


def choose_step(
    status: str, allowed: list[str], pending_extension: bool, rng: random.Random
) -> Step | None:
    """The next step the handlers take on a case, among the actions the platform allows now."""
    if pending_extension and "approve_extension" in allowed:
        return Step("approve_extension", {})
    options = [row for row in NEXT_STEPS.get(status, ()) if row[0] in allowed]
    if not options:
        return None
    action, _, body = rng.choices(options, weights=[odds for _, odds, _ in options])[0]
    if action == "evaluate":
        body = {"satisfaction": rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 9, 4, 2])[0]}
    return Step(action, dict(body))


#: States whose next step judges the handling (核查, 核查通过, 返工): the checker takes it.
CHECKING = frozenset({"handled", "verifying"})


@dataclass(slots=True)
class Handlers:
    """Moves the simulator's cases one step at a time: the duty officer, and a checker.

    The platform does not let whoever marked a case 办结 check it, so the checks are
    played by a second account.
    """

    http: httpx.AsyncClient
    token: str
    rng: random.Random
    checker_token: str = ""

    def _auth(self, status: str = "") -> dict[str, str]:
        token = self.checker_token if status in CHECKING and self.checker_token else self.token
        return {"Authorization": f"Bearer {token}"}

    async def advance(self, case_id: int) -> tuple[str | None, str]:
        """Take one step on a case: (the action taken or None, the state it is in now)."""
        reply = await self.http.get(f"/api/v1/cases/{case_id}", headers=self._auth())
        reply.raise_for_status()
        case = reply.json()
        status = str(case["status"])
        if status in DONE:
            return None, status
        if status in CHECKING:  # what the checker, not the handler, may do
            reply = await self.http.get(f"/api/v1/cases/{case_id}", headers=self._auth(status))
            reply.raise_for_status()
            case = reply.json()
        step = choose_step(
            status, list(case["allowed_actions"]), case["pending_extension"] is not None, self.rng
        )
        if step is None:
            return None, status
        moved = await self.http.post(
            f"/api/v1/cases/{case_id}/actions/{step.action}",
            json=step.body,
            headers=self._auth(status),
        )
        if moved.status_code == 409:  # someone else moved it meanwhile: look again next time
            return None, status
        moved.raise_for_status()
        return step.action, str(moved.json()["status"])

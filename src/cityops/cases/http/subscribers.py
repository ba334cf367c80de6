"""Let a citizen follow a case on the official account: PUT its openid on the case."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cityops.cases.access import CaseAccess
from cityops.cases.flow.service import CaseService
from cityops.cases.http.deps import CaseId, Creator, Env
from cityops.cases.notices.subscribers import MP, subscribe
from cityops.kit.web import DbSession

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


class MpSubscription(BaseModel):
    """A follower of the district's official account (its openid for that account)."""

    model_config = ConfigDict(extra="forbid")

    openid: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$", description="openid (公众号)")


class SubscriptionRead(BaseModel):
    """Whether the openid was new on this case."""

    case_id: int
    channel: str
    added: bool


@router.put(
    "/{case_id}/subscribers/mp", response_model=SubscriptionRead, summary="Follow on WeChat"
)
async def follow_on_mp(
    case_id: CaseId, body: MpSubscription, principal: Creator, env: Env, session: DbSession
) -> SubscriptionRead:
    """The citizen behind a report hears on the official account when it is closed (idempotent).

    Called by the system that took the report (a WeChat H5 page's back end, as a system
    client, on the cases it opened); the openid is stored encrypted.
    """
    svc = CaseService(session, env)
    case = await svc.get(CaseAccess.of(principal), case_id)
    added = await subscribe(session, case, MP, body.openid, env.cipher(), env.now())
    return SubscriptionRead(case_id=case.id, channel=MP, added=added)

"""Reporters' personal data over its life: find it by phone, export it, erase or anonymise it.

A reporter's contact sits on the case (masked copies and one encrypted token) and, for citizens
who asked to hear back, in case_subscriber (an encrypted openid). Anonymising clears both and
keeps the case itself: what happened, where and how it was handled stays on the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.intake.contact import Contact, mask_phone, unseal
from cityops.cases.models import CaseRecord
from cityops.cases.notices.subscribers import CaseSubscriber
from cityops.config import Settings
from cityops.kit.crypto import CryptoError, DataCipher
from cityops.kit.retention import RetentionRule
from cityops.kit.scope import DataScope, scoped

#: How many cases one anonymising pass clears, so a backlog never holds one long transaction.
BATCH = 500


@dataclass(frozen=True, slots=True)
class HeldContact:
    """One case's copy of a person's contact."""

    case_id: int
    created_at: datetime
    closed_at: datetime | None
    status: str
    text: str
    address: str
    contact: Contact


def _clear(case: CaseRecord) -> None:
    case.reporter_name_masked = None
    case.reporter_phone_masked = None
    case.reporter_email_masked = None
    case.reporter_contact_enc = None


async def _drop_subscribers(session: AsyncSession, case_ids: list[int]) -> None:
    if case_ids:
        await session.execute(delete(CaseSubscriber).where(CaseSubscriber.case_id.in_(case_ids)))


async def anonymise_closed(session: AsyncSession, closed_before: datetime) -> list[int]:
    """Clear the contact of up to BATCH cases closed before the given time; their ids."""
    holds_contact = (
        CaseRecord.reporter_contact_enc.is_not(None)
        | CaseRecord.reporter_phone_masked.is_not(None)
        | CaseRecord.reporter_name_masked.is_not(None)
        | CaseRecord.reporter_email_masked.is_not(None)
    )
    stmt = (
        select(CaseRecord)
        .where(CaseRecord.closed_at.is_not(None), CaseRecord.closed_at < closed_before)
        .where(holds_contact)
        .order_by(CaseRecord.id)
        .limit(BATCH)
    )
    cases = list(await session.scalars(stmt))
    for case in cases:
        _clear(case)
    ids = [c.id for c in cases]
    await _drop_subscribers(session, ids)
    await session.flush()
    return ids


async def contacts_of_phone(
    session: AsyncSession, cipher: DataCipher, phone: str, scope: DataScope
) -> list[HeldContact]:
    """Every case in the scope whose reporter left this phone number, with the full contact."""
    # The masked copy narrows the search to the few cases that can match; the token decides.
    stmt = scoped(select(CaseRecord), CaseRecord.owner_code, scope).where(
        CaseRecord.reporter_phone_masked == mask_phone(phone)
    )
    held: list[HeldContact] = []
    for case in await session.scalars(stmt.order_by(CaseRecord.id)):
        try:
            contact = unseal(case, cipher)
        except CryptoError:
            continue  # unreadable with this key: not provably theirs
        if contact is not None and contact.phone == phone:
            held.append(
                HeldContact(
                    case.id,
                    case.created_at,
                    case.closed_at,
                    case.status,
                    case.text,
                    case.address,
                    contact,
                )
            )
    return held


async def erase_contacts(session: AsyncSession, case_ids: list[int]) -> None:
    """Clear the contact (and subscriptions) of these cases."""
    if not case_ids:
        return
    for case in await session.scalars(select(CaseRecord).where(CaseRecord.id.in_(case_ids))):
        _clear(case)
    await _drop_subscribers(session, case_ids)
    await session.flush()


#: What a case's text reads once its content is past retention.
EXPIRED_TEXT = "（已超过保存期限，内容已清除）"


def _clear_content(case: CaseRecord) -> None:
    _clear(case)
    case.text = EXPIRED_TEXT
    case.address = ""
    case.lon = case.lat = None
    case.photos = []


async def clear_expired_content(
    session: AsyncSession, settings: Settings, now: datetime
) -> list[str]:
    """Clear the content of up to BATCH cases closed more than case_retention_days ago.

    Text, address, point, photo references and any contact go; the record of what kind of
    case it was, where in the org tree, when and how it moved stays for the statistics.
    """
    before = now - timedelta(days=settings.case_retention_days)
    stmt = (
        select(CaseRecord)
        .where(CaseRecord.closed_at.is_not(None), CaseRecord.closed_at < before)
        .where(CaseRecord.text != EXPIRED_TEXT)
        .order_by(CaseRecord.id)
        .limit(BATCH)
    )
    cases = list(await session.scalars(stmt))
    for case in cases:
        _clear_content(case)
    ids = [c.id for c in cases]
    await _drop_subscribers(session, ids)
    await session.flush()
    return [str(i) for i in ids]


CASE_CONTENT_RULE = RetentionRule(
    name="case.content",
    data_class="case",
    what="清除办结超过保存期限的案件的描述、地址、位置、照片与联系方式，保留统计记录",
    step=clear_expired_content,
)

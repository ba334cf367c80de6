"""The life-cycle work: anonymise due contacts, and one person's export or erasure; all audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops import cases
from cityops.auth import audit
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.config import Settings
from cityops.kit.crypto import DataCipher, load_cipher
from cityops.kit.errors import ProblemError
from cityops.kit.scope import DataScope


def cipher_of(settings: Settings) -> DataCipher:
    """The personal-data cipher of these settings."""
    secret = settings.data_key
    return load_cipher(secret.get_secret_value() if secret else None, settings.data_key_file)


def masked(phone: str) -> str:
    """The phone number as the audit log may hold it."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "*" * len(phone)


async def anonymise_due(session: AsyncSession, settings: Settings, now: datetime) -> list[int]:
    """Clear reporters' contacts of cases closed more than personal_retention_days ago."""
    before = now - timedelta(days=settings.personal_retention_days)
    ids = await cases.anonymise_closed(session, before)
    if ids:
        await audit.record(
            session,
            action="privacy.anonymise",
            result="success",
            actor_name="cityops-lifecycle",
            actor_org=settings.district_code,
            target=f"{len(ids)} cases",
            detail={"cases": ids, "closed_before": before.isoformat()},
        )
    return ids


def _require(principal: Principal | None) -> DataScope:
    if principal is None:  # the CLI, run by whoever holds the server
        return DataScope.everything()
    if not principal.can(Perm.PRIVACY_MANAGE):
        raise ProblemError(403, "forbidden", "this needs the privacy.manage permission")
    return principal.scope


async def export_person(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    phone: str,
    client_ip: str = "",
) -> dict[str, Any]:
    """Everything cityops holds about the person with this phone number; audited (masked)."""
    scope = _require(principal)
    held = await cases.contacts_of_phone(session, cipher_of(settings), phone, scope)
    await audit.record(
        session,
        action="privacy.export",
        result="success",
        actor=principal,
        actor_name="cityops-cli",
        actor_org=settings.district_code,
        target=masked(phone),
        client_ip=client_ip,
        detail={"cases": [h.case_id for h in held]},
    )
    return {
        "phone": phone,
        "cases": [
            {
                "case_id": h.case_id,
                "created_at": h.created_at.isoformat(),
                "closed_at": h.closed_at.isoformat() if h.closed_at else None,
                "status": h.status,
                "text": h.text,
                "address": h.address,
                "contact": {
                    "name": h.contact.name,
                    "phone": h.contact.phone,
                    "email": h.contact.email,
                },
            }
            for h in held
        ],
    }


async def erase_person(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    phone: str,
    client_ip: str = "",
) -> list[int]:
    """Clear this person's contact from every case in scope; the ids of those cases; audited."""
    scope = _require(principal)
    held = await cases.contacts_of_phone(session, cipher_of(settings), phone, scope)
    ids = [h.case_id for h in held]
    await cases.erase_contacts(session, ids)
    await audit.record(
        session,
        action="privacy.erase",
        result="success",
        actor=principal,
        actor_name="cityops-cli",
        actor_org=settings.district_code,
        target=masked(phone),
        client_ip=client_ip,
        detail={"cases": ids},
    )
    return ids

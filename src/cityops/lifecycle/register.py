"""The register of personal data: what cityops holds about people, where, how protected, how long.

Kept as data so the same list feeds docs/lifecycle.md, `cityops privacy register` and
GET /api/v1/privacy/register; a test checks that each named table and column exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cityops.config import Settings


class DataClass(StrEnum):
    """The classes data is kept by, each with its own retention setting."""

    PERSONAL = "personal"  # 个人信息: reporters' and subscribers' contacts
    CASE = "case"  # 案件数据: what happened, where, how it was handled, photos
    TELEMETRY = "telemetry"  # 物联感知数据: device readings and scene events
    AUDIT = "audit"  # 审计数据: the audit log, including staff names and client IPs


@dataclass(frozen=True, slots=True)
class Holding:
    """One place where personal data is held."""

    table: str
    columns: tuple[str, ...]
    what: str
    data_class: DataClass
    protection: str
    retention: str  # the setting that bounds it, or how it ends


REGISTER: tuple[Holding, ...] = (
    Holding(
        "case_record",
        ("reporter_contact_enc",),
        "reporter's name, mobile number, e-mail",
        DataClass.PERSONAL,
        "SM4-GCM (else AES-256-GCM) with the data key, bound to the row; each read audited",
        "personal_retention_days after the case closes, then cleared by the life-cycle job",
    ),
    Holding(
        "case_record",
        ("reporter_name_masked", "reporter_phone_masked", "reporter_email_masked"),
        "masked copies (张*, 138****5678, z****@x.cn) shown to case readers",
        DataClass.PERSONAL,
        "masked; read within the case's data scope",
        "cleared with the encrypted contact",
    ),
    Holding(
        "case_subscriber",
        ("recipient_enc", "recipient_hash"),
        "official-account openid of a citizen who asked for progress notices",
        DataClass.PERSONAL,
        "encrypted with the data key; SHA-256 only to refuse twins",
        "deleted with the case's contact",
    ),
    Holding(
        "outbox_message",
        ("target", "payload"),
        "the openid (or WeCom user id) a notice goes to",
        DataClass.PERSONAL,
        "read only with outbox.manage, openids masked in the API",
        "notice_recipient_retention_days after delivery or discard, then masked by the "
        "life-cycle job (retention rule outbox.recipients; a masked row is not retried)",
    ),
    Holding(
        "case_record",
        ("text", "address", "lon", "lat", "photos"),
        "what the reporter wrote and where; photos may show people or plates",
        DataClass.CASE,
        "data scope on every read; photo files checked per reader",
        "case_retention_days after the case closes, then cleared by the life-cycle job "
        "(retention rule case.content; category, places in the tree and the timeline stay)",
    ),
    Holding(
        "account",
        ("username", "display_name"),
        "staff names",
        DataClass.AUDIT,
        "account.read; passwords only as Argon2id hashes",
        "while the account exists (accounts are disabled, not deleted)",
    ),
    Holding(
        "audit_log",
        ("actor", "client_ip", "detail"),
        "who did what from which address (phone numbers only masked)",
        DataClass.AUDIT,
        "SM3-HMAC chain; read only by the audit admin, reads audited",
        "audit_retention_days (≥ 180), then `cityops audit purge`",
    ),
    Holding(
        "auth_token",
        ("client_ip",),
        "the address a session or API key was used from",
        DataClass.AUDIT,
        "tokens stored only as SHA-256",
        "until the session expires or the key is revoked",
    ),
)


def retention_days(settings: Settings) -> dict[DataClass, int]:
    """Each data class's retention in days, from the settings."""
    return {
        DataClass.PERSONAL: settings.personal_retention_days,
        DataClass.CASE: settings.case_retention_days,
        DataClass.TELEMETRY: settings.telemetry_retention_days,
        DataClass.AUDIT: settings.audit_retention_days,
    }

"""Two-factor sign-in: TOTP (RFC 6238) codes, their enrolment, and one-time recovery codes.

The secret is encrypted at rest with the platform's data key (kit.crypto); a code is accepted
once: its time step must be later than the last one used, so a code seen over a shoulder or
replayed from a log is refused within its step. Recovery codes are 80 random bits each, so a
SHA-256 of them is as good as a slow hash and costs nothing to check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.models import AccountTotp, RecoveryCode
from cityops.config import Settings
from cityops.kit.crypto import DataCipher, load_cipher

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # one step either side: a phone's clock a little off still works
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt
_RECOVERY_LENGTH = 16  # 16 × log2(31) ≈ 79 bits
_ciphers: dict[tuple[str | None, Path], DataCipher] = {}


def cipher_of(settings: Settings) -> DataCipher:
    """The data-key cipher of these settings (one per key, made on first use)."""
    key = settings.data_key.get_secret_value() if settings.data_key else None
    found = _ciphers.get((key, settings.data_key_file))
    if found is None:
        found = _ciphers[(key, settings.data_key_file)] = load_cipher(key, settings.data_key_file)
    return found


def step_of(now: datetime) -> int:
    """The RFC 6238 time step T of an instant (T0 = 0, X = 30 s)."""
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(
    secret: str,
    code: str,
    now: datetime,
    last_step: int,
    *,
    digits: int = DIGITS,
    window: int = WINDOW,
) -> int | None:
    """The time step a code belongs to, if it is right for a step near now and after last_step."""
    if not re.fullmatch(rf"[0-9]{{{digits}}}", code):
        return None
    otp = pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS)
    current = step_of(now)
    for step in range(current - window, current + window + 1):
        if step > last_step and hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def new_secret() -> str:
    """A fresh 160-bit base32 secret (RFC 4226 recommends 160 bits)."""
    return pyotp.random_base32(32)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the user needs once to set up an authenticator app."""

    secret: str
    uri: str
    qr_svg: str


def provisioning(settings: Settings, username: str, secret: str) -> Enrolment:
    """The otpauth:// URI and its QR code (SVG, rendered here, no third party involved)."""
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=settings.totp_issuer
    )
    # A white ground of its own (an attribute, not a style: the CSP allows no inline styles).
    svg = segno.make(uri, error="m").svg_inline(scale=4, title="TOTP", light="#fff")
    return Enrolment(secret, uri, svg)


def _context(account_id: int) -> str:
    return f"totp:{account_id}"


async def record_of(session: AsyncSession, account_id: int) -> AccountTotp | None:
    """An account's TOTP record, confirmed or not."""
    return await session.get(AccountTotp, account_id)


async def is_enrolled(session: AsyncSession, account_id: int) -> bool:
    """Whether the account signs in with a code."""
    record = await record_of(session, account_id)
    return record is not None and record.confirmed_at is not None


async def start(session: AsyncSession, settings: Settings, account_id: int) -> str:
    """Store a fresh, unconfirmed secret (replacing an earlier unconfirmed one); return it."""
    secret = new_secret()
    sealed = cipher_of(settings).encrypt(secret, _context(account_id))
    record = await record_of(session, account_id)
    if record is None:
        session.add(AccountTotp(account_id=account_id, secret=sealed, last_step=0))
    else:
        record.secret, record.confirmed_at, record.last_step = sealed, None, 0
    await session.flush()
    return secret


async def check_code(
    session: AsyncSession, settings: Settings, account_id: int, code: str, now: datetime
) -> bool:
    """Accept a current code once (its step is then used up), for enrolled or pending records."""
    record = await record_of(session, account_id)
    if record is None:
        return False
    secret = cipher_of(settings).decrypt(record.secret, _context(account_id))
    step = matching_step(secret, code.strip(), now, record.last_step)
    if step is None:
        return False
    # A conditional UPDATE, not a read-then-write: of two requests with the same code at once,
    # only one moves last_step past the step, and only that one is accepted.
    moved = await session.execute(
        update(AccountTotp)
        .where(AccountTotp.account_id == account_id, AccountTotp.last_step < step)
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.expire(record)
    return _rowcount(moved) == 1


def _rowcount(result: object) -> int:
    count: int = getattr(result, "rowcount", 0)
    return count


async def confirm(
    session: AsyncSession, settings: Settings, account_id: int, code: str, now: datetime
) -> list[str] | None:
    """Confirm a pending enrolment with its first code; the recovery codes, or None if wrong."""
    record = await record_of(session, account_id)
    if record is None or record.confirmed_at is not None:
        return None
    if not await check_code(session, settings, account_id, code, now):
        return None
    record.confirmed_at = now
    return await new_recovery_codes(session, account_id)


async def remove(session: AsyncSession, account_id: int) -> None:
    """Forget the secret and the recovery codes (disable, or an admin's reset)."""
    await session.execute(delete(AccountTotp).where(AccountTotp.account_id == account_id))
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))


def _recovery_digest(code: str) -> str:
    cleaned = re.sub(r"[\s-]", "", code).lower()
    return hashlib.sha256(cleaned.encode()).hexdigest()


async def new_recovery_codes(session: AsyncSession, account_id: int) -> list[str]:
    """Replace the account's recovery codes; the codes are shown this once."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        code = "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))
        session.add(RecoveryCode(account_id=account_id, code_hash=_recovery_digest(code)))
        codes.append(code)
    await session.flush()
    return codes


async def use_recovery_code(
    session: AsyncSession, account_id: int, code: str, now: datetime
) -> bool:
    """Spend one unused recovery code; False when it is unknown or already spent."""
    if len(code) > 64:
        return False
    row = await session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_hash == _recovery_digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    spent = await session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return _rowcount(spent) == 1


async def recovery_codes_left(session: AsyncSession, account_id: int) -> int:
    """How many recovery codes the account has not used."""
    left = await session.scalar(
        select(func.count()).where(
            RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
        )
    )
    return int(left or 0)


async def second_factor(
    session: AsyncSession, settings: Settings, account_id: int, code: str, now: datetime
) -> str | None:
    """Check a sign-in's second factor: 'totp' or 'recovery' for what worked, else None."""
    record = await record_of(session, account_id)
    if record is None or record.confirmed_at is None:
        return None
    if await check_code(session, settings, account_id, code, now):
        return "totp"
    if await use_recovery_code(session, account_id, code, now):
        return "recovery"
    return None

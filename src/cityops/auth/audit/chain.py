"""The audit chain: each entry sealed by an SM3-HMAC over itself and the entry before it.

The key lives outside the database (`CITYOPS_AUDIT_KEY` or its key file), so someone who can
write to the database can still not forge a MAC: an entry edited, deleted or inserted there
breaks the chain, and `verify` says which. Appends take the head row's lock first (an UPDATE:
a row lock on PostgreSQL, the write turn on SQLite), so two writers never fork the chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.models import AuditChainHead, AuditEntry
from cityops.config import Settings, get_settings
from cityops.kit.crypto import decode_key, key_from_file
from cityops.kit.sm3 import hmac_sm3, same_mac

HEAD_ID = 1
_key: bytes | None = None
_key_source: tuple[str | None, Path] | None = None


def use_key(settings: Settings) -> None:
    """Seal with the key these settings name (the app's start hook and the CLI call this)."""
    global _key, _key_source
    source = (
        settings.audit_key.get_secret_value() if settings.audit_key else None,
        settings.audit_key_file,
    )
    if source != _key_source:
        text_key, path = source
        _key = decode_key(text_key) if text_key else key_from_file(path, "CITYOPS_AUDIT_KEY")
        _key_source = source


def start_audit(app: Any) -> None:
    """The auth module's start hook: seal with the app's audit key."""
    use_key(app.state.settings)


def _current_key() -> bytes:
    if _key is None:
        use_key(get_settings())
    assert _key is not None
    return _key


def _at(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_message(entry: AuditEntry | Row[Any]) -> bytes:
    """The bytes an entry's MAC covers: its position, the previous MAC and every field."""
    fields: list[Any] = [
        "cityops-audit-v1",
        entry.seq,
        entry.prev_mac or "",
        _at(entry.at),
        entry.actor_id,
        entry.actor,
        entry.actor_org,
        entry.action,
        entry.target,
        entry.result,
        entry.client_ip,
        entry.detail or {},
        entry.note or "",
    ]
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def head_message(head: AuditChainHead) -> bytes:
    """The bytes the head's tag covers."""
    anchor_at = _at(head.anchor_at) if head.anchor_at else ""
    fields = [
        "cityops-audit-head-v1",
        head.last_seq,
        head.last_mac,
        head.anchor_seq,
        head.anchor_mac,
        anchor_at,
    ]
    return json.dumps(fields, separators=(",", ":")).encode()


def mac_of(message: bytes, key: bytes | None = None) -> str:
    """The hex SM3-HMAC of a message under the audit key."""
    return hmac_sm3(key or _current_key(), message).hex()


async def lock_head(session: AsyncSession) -> AuditChainHead:
    """Take the chain's lock for this transaction and return the head row."""
    # An UPDATE, not a SELECT, comes first: it takes the row lock (PostgreSQL) and the write
    # turn (SQLite) before the head is read, so no second writer reads the same head.
    await session.execute(
        text("UPDATE audit_chain SET last_seq = last_seq WHERE id = :id"), {"id": HEAD_ID}
    )
    head = await session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    if head is None:  # a database migrated without the head row: make it
        head = AuditChainHead(id=HEAD_ID, last_seq=0, last_mac="", anchor_seq=0, anchor_mac="")
        head.tag = ""
        session.add(head)
        await session.flush()
    return head


def retag(head: AuditChainHead) -> None:
    """Recompute the head's tag after changing it."""
    head.tag = mac_of(head_message(head))


@dataclass(frozen=True, slots=True)
class _Head:
    """The chain head as this process last moved it: the fast path's expectation."""

    last_seq: int
    last_mac: str
    anchor_seq: int
    anchor_mac: str
    anchor_at: datetime | None
    tag: str


#: The last head this process wrote, per database: an append that finds the head unchanged
#: (same position and tag) needs no read of it first.
_heads: dict[str, _Head] = {}


def _database_of(session: AsyncSession) -> str:
    return str(session.get_bind().engine.url)


def forget_heads() -> None:
    """Drop the remembered heads (after a restore, a purge or a test that edits the head)."""
    _heads.clear()


async def append(session: AsyncSession, entry: AuditEntry) -> None:
    """Seal `entry` as the next link of the chain and add it, in the caller's transaction.

    Two statements when this process wrote the head last: move the head from the remembered
    one (an UPDATE conditional on its position and tag, which also takes the lock), then insert
    the entry. If anyone else moved the head meanwhile (another process, a purge, a rolled-back
    append) the UPDATE matches nothing and the append takes the slow path: claim the next
    position reading the head, insert, move the head (three statements).
    """
    database = _database_of(session)
    known = _heads.get(database)
    if known is not None and await _append_after(session, entry, known, database):
        return
    await _append_claiming(session, entry, database)


def _seal(entry: AuditEntry, seq: int, prev_mac: str) -> None:
    entry.seq, entry.prev_mac = seq, prev_mac
    entry.detail = json.loads(json.dumps(entry.detail or {}, ensure_ascii=False))
    entry.mac = mac_of(entry_message(entry))


def _moved(head: _Head, entry: AuditEntry) -> _Head:
    row = AuditChainHead(
        id=HEAD_ID,
        last_seq=entry.seq,
        last_mac=entry.mac,
        anchor_seq=head.anchor_seq,
        anchor_mac=head.anchor_mac,
        anchor_at=head.anchor_at,
    )
    retag(row)
    return _Head(row.last_seq, row.last_mac, row.anchor_seq, row.anchor_mac, row.anchor_at, row.tag)


async def _append_after(
    session: AsyncSession, entry: AuditEntry, known: _Head, database: str
) -> bool:
    """The fast path: whether the head was still `known` (then the entry is added)."""
    _seal(entry, known.last_seq + 1, known.last_mac)
    moved = _moved(known, entry)
    result = await session.execute(
        update(AuditChainHead)
        .where(
            AuditChainHead.id == HEAD_ID,
            AuditChainHead.last_seq == known.last_seq,
            AuditChainHead.tag == known.tag,
        )
        .values(last_seq=moved.last_seq, last_mac=moved.last_mac, tag=moved.tag)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        _heads.pop(database, None)
        return False
    session.add(entry)
    await session.flush()
    _heads[database] = moved
    return True


async def _append_claiming(session: AsyncSession, entry: AuditEntry, database: str) -> None:
    """The slow path: claim the next position reading the head, insert, move the head."""
    head_table = AuditChainHead.__table__
    claimed = (
        await session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.id == HEAD_ID)
            .values(last_seq=AuditChainHead.last_seq + 1)
            .returning(
                head_table.c.last_seq,
                head_table.c.last_mac,
                head_table.c.anchor_seq,
                head_table.c.anchor_mac,
                head_table.c.anchor_at,
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if claimed is None:  # a database migrated without the head row: make it, then claim
        await lock_head(session)
        await _append_claiming(session, entry, database)
        return
    _seal(entry, claimed.last_seq, claimed.last_mac)
    session.add(entry)
    await session.flush()
    before = _Head(
        claimed.last_seq - 1,
        claimed.last_mac,
        claimed.anchor_seq,
        claimed.anchor_mac,
        claimed.anchor_at,
        "",
    )
    moved = _moved(before, entry)
    await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == HEAD_ID)
        .values(last_mac=moved.last_mac, tag=moved.tag)
        .execution_options(synchronize_session=False)
    )
    _heads[database] = moved


@dataclass(frozen=True, slots=True)
class Finding:
    """One break of the chain: what happened and where."""

    kind: str  # edited | deleted | inserted | head
    message: str
    entry_id: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """What `verify` found."""

    checked: int
    before_chain: int
    last_seq: int
    anchor_seq: int
    findings: tuple[Finding, ...]
    head_mac: str = ""

    @property
    def intact(self) -> bool:
        """Whether nothing was found."""
        return not self.findings


async def verify(session: AsyncSession, key: bytes | None = None) -> Report:
    """Walk the chain from its anchor to its head and report every break.

    Entries stream in id order, a thousand at a time, so a long log needs little memory.
    """
    key = key or _current_key()
    head = await session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    if head is None:
        return Report(0, 0, 0, 0, (Finding("head", "the audit_chain head row is missing"),))
    walk = _Walk(head, key)
    if head.tag and not same_mac(head.tag, mac_of(head_message(head), key)):
        walk.findings.append(Finding("head", "the chain head was changed outside cityops"))
    if not head.tag and (head.last_seq or head.anchor_seq):
        walk.findings.append(Finding("head", "the chain head lost its tag"))
    # Plain rows, not ORM objects: the walk reads each entry once and keeps none of them.
    table = AuditEntry.__table__
    stmt = select(table).order_by(table.c.id).execution_options(yield_per=1000)
    async for row in await session.stream(stmt):
        walk.take(row)
    walk.finish()
    return Report(
        checked=walk.checked,
        before_chain=walk.before_chain,
        last_seq=head.last_seq,
        anchor_seq=head.anchor_seq,
        findings=tuple(walk.findings),
        head_mac=head.last_mac,
    )


class _Walk:
    """The verifier's state: each sealed entry is judged once the next one (or the head) is known."""

    def __init__(self, head: AuditChainHead, key: bytes) -> None:
        self.head, self.key = head, key
        self.findings: list[Finding] = []
        self.checked = self.before_chain = 0
        self.pending: Row[Any] | None = None
        self.expected_prev, self.expected_seq = head.anchor_mac, head.anchor_seq + 1

    def take(self, row: Row[Any]) -> None:
        """One more entry in id order."""
        if row.seq is None:
            if self.pending is None and not self.checked:
                self.before_chain += 1  # older than the chain
            else:
                self.findings.append(Finding("inserted", f"entry id {row.id} has no seal", row.id))
            return
        if self.pending is not None:
            self._judge(self.pending, row.prev_mac)
        self.pending = row
        self.checked += 1

    def finish(self) -> None:
        """Judge the last entry against the head, then look for entries cut from the end."""
        if self.pending is not None:
            self._judge(self.pending, self.head.last_mac)
        last_seq = self.head.last_seq
        if last_seq >= self.expected_seq:
            self.findings.append(
                Finding("deleted", f"seq {self.expected_seq}–{last_seq} deleted at the end")
            )
        elif last_seq < self.expected_seq - 1 and not any(
            f.kind == "inserted" for f in self.findings
        ):
            self.findings.append(Finding("head", "the chain runs past its head"))

    def _judge(self, row: Row[Any], next_prev: str | None) -> None:
        assert row.seq is not None
        if not row.mac or not same_mac(row.mac, mac_of(entry_message(row), self.key)):
            if row.mac and next_prev == row.mac:  # the next entry vouches for the stored MAC
                self.findings.append(
                    Finding(
                        "edited", f"entry id {row.id} (seq {row.seq}) was edited", row.id, row.seq
                    )
                )
                self.expected_prev, self.expected_seq = row.mac, row.seq + 1
            else:
                self.findings.append(
                    Finding("inserted", f"entry id {row.id} was inserted", row.id, row.seq)
                )
            return
        if row.seq > self.expected_seq or (
            row.seq == self.expected_seq and row.prev_mac != self.expected_prev
        ):
            gap = (
                f"seq {self.expected_seq}–{row.seq - 1}"
                if row.seq > self.expected_seq
                else "entries"
            )
            self.findings.append(
                Finding("deleted", f"{gap} deleted before entry id {row.id}", row.id, row.seq)
            )
        elif row.seq < self.expected_seq:
            self.findings.append(
                Finding("inserted", f"entry id {row.id} repeats seq {row.seq}", row.id, row.seq)
            )
            return
        self.expected_prev, self.expected_seq = row.mac, row.seq + 1

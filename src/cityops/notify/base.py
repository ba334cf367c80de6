"""What every notifier takes and answers: a `Notice` in, a `SendResult` out.

A notice is channel-neutral: recipients, a title, a body, an optional link, and for template
channels (the official account) a template id with named fields. Each adapter renders it to its
own wire format. Notices travel through the outbox as JSON (`to_payload` / `from_payload`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who receives a notice: user ids (WeCom userid, official-account openid) and parties."""

    users: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()  # WeCom department ids (部门 id)

    def __bool__(self) -> bool:
        return bool(self.users or self.parties)


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to people, independent of the channel that carries it."""

    to: Recipients
    title: str
    body: str
    url: str = ""
    template: str = ""  # official-account template id
    fields: Mapping[str, str] = field(default_factory=dict)  # template key → value
    dedupe_key: str = ""  # the same key is the same message (retries of one outbox row)

    def to_payload(self) -> dict[str, Any]:
        """The notice as JSON for an outbox row."""
        return {
            "to": {"users": list(self.to.users), "parties": list(self.to.parties)},
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "template": self.template,
            "fields": dict(self.fields),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], dedupe_key: str = "") -> Notice:
        """The notice of an outbox row; ValueError when the payload is not one."""
        try:
            to = payload["to"]
            return cls(
                to=Recipients(
                    tuple(str(u) for u in to.get("users", ())),
                    tuple(str(p) for p in to.get("parties", ())),
                ),
                title=str(payload["title"]),
                body=str(payload.get("body", "")),
                url=str(payload.get("url", "")),
                template=str(payload.get("template", "")),
                fields={str(k): str(v) for k, v in dict(payload.get("fields", {})).items()},
                dedupe_key=dedupe_key,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a notice payload: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class SendResult:
    """How sending one notice ended."""

    ok: bool
    retryable: bool = False
    errcode: int | None = None  # the channel's own code (WeChat errcode), or an HTTP status
    error: str = ""
    message_id: str = ""
    rejected: tuple[str, ...] = ()  # recipients the channel refused while sending to the others


class Notifier(Protocol):
    """Sends notices over one channel; never raises for a failed send."""

    channel: str

    async def send(self, notice: Notice) -> SendResult:
        """Send once and say how it went."""
        ...


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` UTF-8 bytes of `text`, never cutting a character in half."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")

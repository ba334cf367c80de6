"""Signed webhooks: the outbox channel that POSTs a JSON payload to a receiver's URL.

Every request carries:

| header | value |
|---|---|
| `X-Cityops-Delivery` | the message's delivery id (a UUID); the same on every retry: dedupe on it |
| `X-Cityops-Event` | the topic, e.g. `hotline.sign` |
| `X-Cityops-Timestamp` | Unix seconds when this attempt was signed |
| `X-Cityops-Signature` | `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body) |

The body is the payload as compact UTF-8 JSON with sorted keys. Redirects are not followed (a
3xx is a permanent failure): the receiver is the host that was allowed, nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from cityops.kit.outbox.queue import Envelope, Outcome

DELIVERY_HEADER = "X-Cityops-Delivery"
EVENT_HEADER = "X-Cityops-Event"
TIMESTAMP_HEADER = "X-Cityops-Timestamp"
SIGNATURE_HEADER = "X-Cityops-Signature"
#: Statuses worth another attempt besides 5xx: timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})

SecretLookup = Callable[[str], bytes | None]


def body_of(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are sent and signed."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


#: The channel name of signed webhooks in the outbox.
WEBHOOK = "webhook"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value of a body signed at `timestamp`."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance_seconds: float = 300,
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature (constant time)."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def classify(status: int) -> Outcome:
    """The outcome of an HTTP answer."""
    if 200 <= status < 300:
        return Outcome.delivered(status)
    if status >= 500 or status in RETRYABLE_4XX:
        return Outcome.retry(f"HTTP {status}", status)
    if 300 <= status < 400:
        return Outcome.permanent(f"HTTP {status}: redirects are not followed", status)
    return Outcome.permanent(f"HTTP {status}: refused by the receiver", status)


class WebhookChannel:
    """POST signed JSON to the envelope's target URL."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        secrets: SecretLookup,
        *,
        clock: Callable[[], float] = time.time,
        user_agent: str = "cityops-outbox",
    ) -> None:
        self.client = client
        self.secrets = secrets
        self.clock = clock
        self.user_agent = user_agent

    async def deliver(self, envelope: Envelope) -> Outcome:
        """Send once; never raises for a failed delivery."""
        secret = self.secrets(envelope.secret_ref) if envelope.secret_ref else None
        if secret is None:
            return Outcome.permanent(f"no signing secret configured for {envelope.secret_ref!r}")
        body = body_of(envelope.payload)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self.user_agent,
            DELIVERY_HEADER: envelope.delivery_id,
            EVENT_HEADER: envelope.topic,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            reply = await self.client.post(envelope.target, content=body, headers=headers)
        except httpx.TimeoutException:
            return Outcome.retry("timed out")
        except httpx.HTTPError as exc:  # connection refused, reset, DNS …; no URL in the text
            return Outcome.retry(f"{type(exc).__name__}")
        return classify(reply.status_code)

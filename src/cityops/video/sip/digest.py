"""HTTP digest MD5 for SIP (RFC 2617 §3.2, RFC 7616 §3.4), server and client roles.

GB/T 28181-2016 §9.1.2 registers with digest MD5; most devices send no qop (RFC 2069 form),
some send qop=auth: both are verified. Nonces are stateless (time + HMAC), so a server restart
or a second worker still checks them, and an old nonce is answered with `stale=true`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

NONCE_LIFETIME = 600.0


def md5(text: str) -> str:
    """Hex MD5 of UTF-8 text."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_fields(value: str) -> dict[str, str]:
    """The `key=value` pairs of a `Digest …` header value, quotes removed."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    fields: dict[str, str] = {}
    key, buf, quoted, i = "", "", False, 0
    while i < len(rest):
        ch = rest[i]
        if quoted:
            if ch == "\\" and i + 1 < len(rest):
                buf += rest[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
            else:
                buf += ch
        elif ch == '"':
            quoted = True
        elif ch == "=" and not key:
            key, buf = buf.strip().lower(), ""
        elif ch == ",":
            if key:
                fields[key] = buf.strip()
            key, buf = "", ""
        else:
            buf += ch
        i += 1
    if key:
        fields[key] = buf.strip()
    return fields


def response_hash(
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The `response` value: MD5(HA1:nonce[:nc:cnonce:qop]:HA2) (RFC 2617 §3.2.2.1)."""
    ha1 = md5(f"{username}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    if qop:
        return md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a server decides about an Authorization header."""

    ok: bool
    stale: bool = False  # the nonce was ours but too old: challenge again, no 403
    reason: str = ""


class DigestServer:
    """Issues challenges and checks answers for one realm."""

    def __init__(
        self,
        realm: str,
        *,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
        lifetime: float = NONCE_LIFETIME,
    ) -> None:
        self.realm = realm
        self.secret = secret or secrets.token_bytes(32)
        self.clock = clock
        self.lifetime = lifetime

    def nonce(self) -> str:
        """A fresh nonce: issue time and its HMAC, checkable without state."""
        issued = f"{int(self.clock()):x}{secrets.token_hex(4)}"
        mac = hmac.new(self.secret, issued.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{issued}{mac}"

    def challenge(self, *, stale: bool = False) -> str:
        """A WWW-Authenticate value."""
        extra = ", stale=true" if stale else ""
        return f'Digest realm="{self.realm}", nonce="{self.nonce()}", algorithm=MD5{extra}'

    def _nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' or 'forged'."""
        issued, mac = nonce[:-16], nonce[-16:]
        good = hmac.new(self.secret, issued.encode(), hashlib.sha256).hexdigest()[:16]
        if len(issued) <= 8 or not hmac.compare_digest(mac, good):
            return "forged"
        try:
            age = self.clock() - int(issued[:-8], 16)
        except ValueError:
            return "forged"
        return "ok" if 0 <= age <= self.lifetime else "stale"

    def verify(self, header: str, method: str, username: str, password: str) -> Verdict:
        """Check an Authorization header against the expected user and password."""
        fields = parse_fields(header)
        nonce, answer = fields.get("nonce", ""), fields.get("response", "")
        if not nonce or not answer or "uri" not in fields:
            return Verdict(False, reason="incomplete credentials")
        if fields.get("username") != username:
            return Verdict(False, reason="username is not the device ID")
        if fields.get("realm") != self.realm:
            return Verdict(False, reason="wrong realm")
        algorithm = fields.get("algorithm", "MD5").upper()
        if algorithm != "MD5":
            return Verdict(False, reason=f"algorithm {algorithm} is not supported")
        state = self._nonce_state(nonce)
        if state != "ok":
            return Verdict(False, stale=state == "stale", reason=f"{state} nonce")
        qop = fields.get("qop")
        expected = response_hash(
            username,
            self.realm,
            password,
            method,
            fields["uri"],
            nonce,
            qop,
            fields.get("nc", ""),
            fields.get("cnonce", ""),
        )
        if not hmac.compare_digest(expected, answer.lower()):
            return Verdict(False, reason="wrong password")
        return Verdict(True)


def authorization(
    challenge: str, username: str, password: str, method: str, uri: str, *, nc: int = 1
) -> str:
    """The Authorization value answering a WWW-Authenticate challenge (client role)."""
    fields = parse_fields(challenge)
    realm, nonce = fields.get("realm", ""), fields.get("nonce", "")
    offered = [q.strip() for q in fields.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in offered else None
    cnonce, count = secrets.token_hex(8), f"{nc:08x}"
    answer = response_hash(username, realm, password, method, uri, nonce, qop, count, cnonce)
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{answer}"',
        "algorithm=MD5",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={count}", f'cnonce="{cnonce}"']
    if "opaque" in fields:
        parts.append(f'opaque="{fields["opaque"]}"')
    return "Digest " + ", ".join(parts)

"""SIP messages: a parser with size caps and a serializer (RFC 3261 §7, §18.3).

Headers are ASCII on a compliant wire; they are decoded as UTF-8 with replacement so a hostile
byte never raises. Bodies stay bytes: GB/T 28181 bodies are GB18030 whatever they declare.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

#: Largest message we accept on any transport (a 5,000-channel catalog comes in many packets).
MAX_MESSAGE_BYTES = 65_535
MAX_HEADERS = 100
MAX_HEADER_LINE = 4096

#: Compact forms (RFC 3261 §7.3.3) → full names.
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
REASONS = {
    100: "Trying",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    423: "Interval Too Brief",
    481: "Call/Transaction Does Not Exist",
    500: "Server Internal Error",
    503: "Service Unavailable",
}


class SipParseError(ValueError):
    """The bytes are not a SIP message we accept; `status` is what to answer (400 or 413)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def canonical(name: str) -> str:
    """The full, capitalised header name (compact forms expanded)."""
    name = name.strip()
    full = COMPACT.get(name.lower())
    if full:
        return full
    special = {"call-id": "Call-ID", "cseq": "CSeq", "www-authenticate": "WWW-Authenticate"}
    return special.get(name.lower()) or "-".join(p.capitalize() for p in name.split("-"))


@dataclass(slots=True)
class SipMessage:
    """Headers in order (name, value) and a body of bytes."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = canonical(name)
        return next((v for n, v in self.headers if n == wanted), None)

    def all(self, name: str) -> list[str]:
        """Every value of a header, in order."""
        wanted = canonical(name)
        return [v for n, v in self.headers if n == wanted]

    def set(self, name: str, value: str) -> None:
        """Replace every value of a header by one."""
        wanted = canonical(name)
        self.headers = [(n, v) for n, v in self.headers if n != wanted]
        self.headers.append((wanted, value))

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        """(number, method) of the CSeq header; (0, "") when absent or bad."""
        number, _, method = (self.header("CSeq") or "").partition(" ")
        return (int(number), method.strip().upper()) if number.isdigit() else (0, "")

    @property
    def branch(self) -> str:
        """The branch parameter of the top Via (the transaction key, RFC 3261 §17.2.3)."""
        return param(self.header("Via") or "", "branch") or ""

    def head_bytes(self, start_line: str) -> bytes:
        """Start line and headers, Content-Length set from the body."""
        lines = [start_line]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@dataclass(slots=True)
class SipRequest(SipMessage):
    """A request: method and Request-URI."""

    method: str = ""
    uri: str = ""

    def to_bytes(self) -> bytes:
        """The wire form."""
        return self.head_bytes(f"{self.method} {self.uri} SIP/2.0") + self.body


@dataclass(slots=True)
class SipResponse(SipMessage):
    """A response: status and reason phrase."""

    status: int = 200
    reason: str = "OK"

    def to_bytes(self) -> bytes:
        """The wire form."""
        return self.head_bytes(f"SIP/2.0 {self.status} {self.reason}") + self.body


def param(value: str, name: str) -> str | None:
    """A `;name=value` parameter of a header value (outside any <…>), unquoted."""
    tail = value.rsplit(">", 1)[-1]
    for part in tail.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name.lower():
            return val.strip().strip('"')
    return None


def uri_user(value: str) -> str:
    """The user part of the SIP URI in a From/To/Contact value or a Request-URI."""
    inner = value.split("<", 1)[1].split(">", 1)[0] if "<" in value else value.split(";", 1)[0]
    inner = inner.strip()
    if ":" in inner:
        inner = inner.split(":", 1)[1]
    return inner.split("@", 1)[0] if "@" in inner else ""


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """Header block and body; raises when there is no blank line."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    if not sep:
        raise SipParseError("no blank line after the headers")
    return head, body


def content_length(headers: list[tuple[str, str]]) -> int | None:
    """The declared Content-Length, None when absent; raises when it is not a number."""
    for name, value in headers:
        if name == "Content-Length":
            if not value.strip().isdigit():
                raise SipParseError("Content-Length is not a number")
            return int(value)
    return None


def parse_headers(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the (unfolded, canonical) headers of a header block."""
    lines = head.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    start, headers = lines[0].strip(), list[tuple[str, str]]()
    for line in lines[1:]:
        if len(line) > MAX_HEADER_LINE:
            raise SipParseError("a header line is too long", 413)
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipParseError(f"bad header line {line[:40]!r}")
        headers.append((canonical(name), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise SipParseError("too many headers", 413)
    return start, headers


def routable_headers(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Start line and the well-formed headers of a broken message: enough to answer it 400."""
    head = data[:MAX_MESSAGE_BYTES].split(b"\r\n\r\n", 1)[0]
    lines = head.decode("utf-8", errors="replace").split("\r\n")
    headers = []
    for line in lines[1:MAX_HEADERS]:
        name, colon, value = line.partition(":")
        if colon and name.strip() and " " not in name.strip() and len(line) <= MAX_HEADER_LINE:
            headers.append((canonical(name), value.strip()))
    return lines[0].strip(), headers


def parse(data: bytes) -> SipRequest | SipResponse:
    """One SIP message from bytes; raises SipParseError with the status to answer."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large", 413)
    head, body = split_head(data.lstrip(b"\r\n"))
    start, headers = parse_headers(head)
    declared = content_length(headers)
    if declared is not None:
        if declared > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:declared]
    parts = start.split(" ", 2)
    if len(parts) != 3:
        raise SipParseError("bad start line")
    if parts[0] == "SIP/2.0":
        if not parts[1].isdigit() or len(parts[1]) != 3:
            raise SipParseError("bad status code")
        return SipResponse(headers, body, int(parts[1]), parts[2])
    method, uri, version = parts
    if version != "SIP/2.0" or not method.isalpha() or not method.isupper():
        raise SipParseError("bad request line")
    request = SipRequest(headers, body, method, uri)
    missing = [h for h in REQUIRED if request.header(h) is None]
    if missing or request.cseq[1] != method:
        raise SipParseError(f"missing or bad headers: {', '.join(missing) or 'CSeq'}")
    return request


def response_to(request: SipRequest, status: int, reason: str | None = None) -> SipResponse:
    """A response copying Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2); To gets a tag."""
    headers = [(n, v) for n, v in request.headers if n in ("Via", "From", "Call-ID", "CSeq")]
    to = request.header("To") or ""
    if status > 100 and param(to, "tag") is None:
        to = f"{to};tag={_tag(request)}"
    headers.insert(2, ("To", to))
    return SipResponse(headers, b"", status, reason or REASONS.get(status, "Unknown"))


def _tag(request: SipRequest) -> str:
    """A stable To-tag for a request: retransmissions get the same answer."""
    return hashlib.blake2s(
        f"{request.call_id}|{request.branch}".encode(), digest_size=6
    ).hexdigest()

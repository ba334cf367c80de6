"""The SIP layer: parsing with caps, serialising, and digest MD5 against RFC 2617's vector."""

from __future__ import annotations

import pytest

from cityops.video.sip.digest import DigestServer, authorization, parse_fields, response_hash
from cityops.video.sip.message import (
    MAX_HEADERS,
    SipParseError,
    SipRequest,
    SipResponse,
    parse,
    response_to,
    uri_user,
)

REGISTER = (
    b"REGISTER sip:31011700002000000001@3101170000 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.2:5060;rport;branch=z9hG4bK1\r\n"
    b"f: <sip:31011710001180000001@3101170000>;tag=a1\r\n"
    b"t: <sip:31011710001180000001@3101170000>\r\n"
    b"i: call-1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Subject: folded\r\n  continued\r\n"
    b"l: 0\r\n\r\n"
)


def test_parse_expands_compact_headers_and_unfolds() -> None:
    request = parse(REGISTER)
    assert isinstance(request, SipRequest) and request.method == "REGISTER"
    assert request.call_id == "call-1" and request.cseq == (1, "REGISTER")
    assert request.branch == "z9hG4bK1" and request.header("Subject") == "folded continued"
    assert uri_user(request.header("From") or "") == "31011710001180000001"
    again = parse(request.to_bytes())
    assert isinstance(again, SipRequest) and again.headers == request.headers


def test_response_copies_the_transaction_headers_and_tags_to() -> None:
    request = parse(REGISTER)
    assert isinstance(request, SipRequest)
    response = response_to(request, 401)
    parsed = parse(response.to_bytes())
    assert isinstance(parsed, SipResponse) and parsed.status == 401
    assert parsed.branch == "z9hG4bK1" and ";tag=" in (parsed.header("To") or "")
    assert response_to(request, 200).header("To") == response.header("To")  # stable tag


def test_body_is_cut_at_content_length_and_kept_as_bytes() -> None:
    body = "<Notify>萳</Notify>".encode("gb18030")
    data = REGISTER.replace(b"l: 0", f"l: {len(body)}".encode()) + body + b"garbage"
    assert parse(data).body == body


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"REGISTER sip:x SIP/2.0\r\nVia: x\r\n\r\n", 400),  # headers missing
        (b"HELLO\r\n\r\n", 400),
        (REGISTER.replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), 400),
        (REGISTER.replace(b"l: 0", b"l: 50"), 400),  # body shorter than declared
        (REGISTER.replace(b"l: 0", b"l: x"), 400),
        (REGISTER.replace(b"i: call-1", b"broken line"), 400),
        (b"SIP/2.0 2000 OK\r\n\r\n", 400),
        (REGISTER + b"x" * 70_000, 413),
        (REGISTER.replace(b"i: call-1", b"X-A: 1\r\n" * (MAX_HEADERS + 1) + b"i: c"), 413),
        (REGISTER.replace(b"i: call-1", b"i: " + b"c" * 5000), 413),
        (b"no blank line", 400),
    ],
)
def test_bad_messages_raise_with_the_status_to_answer(data: bytes, status: int) -> None:
    with pytest.raises(SipParseError) as caught:
        parse(data)
    assert caught.value.status == status


def test_rfc2617_section_3_5_vector() -> None:
    """RFC 2617 §3.5: Mufasa / "Circle Of Life" → 6629fae49393a05397450978507c4ef1."""
    answer = response_hash(
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "auth",
        "00000001",
        "0a4f113b",
    )
    assert answer == "6629fae49393a05397450978507c4ef1"


def test_digest_server_accepts_the_client_and_refuses_wrong_or_stale() -> None:
    now = [1_800_000_000.0]
    server = DigestServer("3101170000", clock=lambda: now[0], lifetime=600)
    challenge = server.challenge()
    uri = "sip:31011700002000000001@3101170000"
    good = authorization(challenge, "31011710001180000001", "pw", "REGISTER", uri)
    assert server.verify(good, "REGISTER", "31011710001180000001", "pw").ok
    wrong = server.verify(good, "REGISTER", "31011710001180000001", "other")
    assert not wrong.ok and not wrong.stale and wrong.reason == "wrong password"
    assert not server.verify(good, "REGISTER", "31011710001180000009", "pw").ok  # not its ID
    forged = good.replace(parse_fields(good)["nonce"], "0" * 40)
    assert server.verify(forged, "REGISTER", "31011710001180000001", "pw").reason == "forged nonce"
    now[0] += 601
    stale = server.verify(good, "REGISTER", "31011710001180000001", "pw")
    assert stale.stale and not stale.ok
    qop = authorization(
        server.challenge().replace("algorithm=MD5", 'qop="auth"'),
        "31011710001180000001",
        "pw",
        "REGISTER",
        uri,
    )
    assert "qop=auth" in qop and server.verify(qop, "REGISTER", "31011710001180000001", "pw").ok


def test_parse_fields_handles_quotes_and_commas() -> None:
    fields = parse_fields('Digest realm="a, b", nonce="n\\"1", algorithm=MD5')
    assert fields == {"realm": "a, b", "nonce": 'n"1', "algorithm": "MD5"}
    assert parse_fields("Basic abc") == {}

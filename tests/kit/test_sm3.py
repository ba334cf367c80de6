"""SM3 against GB/T 32905-2016's published examples, and HMAC-SM3 (RFC 2104) two ways."""

from __future__ import annotations

import pytest

from cityops.kit import sm3

# GB/T 32905-2016, appendix A: example 1 ("abc") and example 2 ("abcd" × 16, 512 bits).
VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]


@pytest.mark.parametrize(("message", "digest"), VECTORS)
def test_the_published_sm3_examples_on_both_implementations(message: bytes, digest: str) -> None:
    assert sm3.sm3_pure(message).hex() == digest
    if sm3.openssl_sm3_available():
        assert sm3.sm3_openssl(message).hex() == digest
    assert sm3.sm3(message).hex() == digest


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"", b""),
        (b"k" * 32, b"cityops audit entry"),
        (b"\x0b" * 64, b"Hi There"),  # a key exactly one block long
        (bytes(range(100)), "审计日志".encode() * 50),  # a key longer than a block is hashed first
    ],
)
def test_hmac_sm3_by_rfc_2104_agrees_with_openssl(key: bytes, message: bytes) -> None:
    # No HMAC-SM3 vector is published in GB/T 32905; two independent implementations agreeing
    # (RFC 2104 written out over gmssl's SM3, and OpenSSL's HMAC) stands in for one.
    if not sm3.openssl_sm3_available():
        pytest.skip("this OpenSSL build has no SM3 to compare with")
    pure = sm3.hmac_sm3_pure(key, message)
    assert len(pure) == sm3.DIGEST_BYTES
    assert pure == sm3.hmac_sm3_openssl(key, message)
    assert sm3.hmac_sm3(key, message) == pure


def test_a_changed_key_or_message_changes_the_mac() -> None:
    base = sm3.hmac_sm3(b"key", b"message")
    assert sm3.hmac_sm3(b"kez", b"message") != base
    assert sm3.hmac_sm3(b"key", b"messagf") != base
    assert sm3.same_mac(base.hex(), base.hex()) and not sm3.same_mac(base.hex(), "00")

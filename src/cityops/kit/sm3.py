"""SM3 (GB/T 32905-2016) and HMAC-SM3 (RFC 2104 over SM3).

OpenSSL, through `cryptography`, computes SM3 where its build has it; otherwise the pure-Python
`gmssl` does. Both give the same digests (tests/kit/test_sm3.py checks the published vectors on
each and HMACs of one against the other), so a chain written by one verifies with the other.
"""

from __future__ import annotations

import hmac as std_hmac
from functools import cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from gmssl import func as gm_func
from gmssl import sm3 as gm_sm3

BLOCK_BYTES = 64  # SM3 works on 512-bit blocks
DIGEST_BYTES = 32


@cache
def openssl_sm3_available() -> bool:
    """Whether the installed `cryptography`/OpenSSL computes SM3."""
    try:
        digest = hashes.Hash(hashes.SM3())
        digest.update(b"abc")
        digest.finalize()
    except (UnsupportedAlgorithm, AttributeError):
        return False
    return True


def sm3_pure(data: bytes) -> bytes:
    """SM3 of `data` by gmssl (pure Python)."""
    return bytes.fromhex(gm_sm3.sm3_hash(gm_func.bytes_to_list(data)))


def sm3_openssl(data: bytes) -> bytes:
    """SM3 of `data` by OpenSSL."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def hmac_sm3_pure(key: bytes, message: bytes) -> bytes:
    """HMAC-SM3 built from SM3 as RFC 2104 defines it: H(K ^ opad || H(K ^ ipad || m))."""
    if len(key) > BLOCK_BYTES:
        key = sm3_pure(key)
    key = key.ljust(BLOCK_BYTES, b"\0")
    inner = sm3_pure(bytes(b ^ 0x36 for b in key) + message)
    return sm3_pure(bytes(b ^ 0x5C for b in key) + inner)


def hmac_sm3_openssl(key: bytes, message: bytes) -> bytes:
    """HMAC-SM3 by OpenSSL."""
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(message)
    return mac.finalize()


def sm3(data: bytes) -> bytes:
    """SM3 of `data`, by OpenSSL when it can."""
    return sm3_openssl(data) if openssl_sm3_available() else sm3_pure(data)


def hmac_sm3(key: bytes, message: bytes) -> bytes:
    """HMAC-SM3 of `message` under `key`, by OpenSSL when it can."""
    if openssl_sm3_available():
        return hmac_sm3_openssl(key, message)
    return hmac_sm3_pure(key, message)


def same_mac(a: bytes | str, b: bytes | str) -> bool:
    """Compare two MACs in constant time."""
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return std_hmac.compare_digest(left, right)

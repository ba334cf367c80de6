"""Authenticated encryption of personal data at rest: SM4-GCM where available, else AES-256-GCM.

A deployment has one 32-byte master key (`CITYOPS_DATA_KEY`, base64). Each algorithm gets its
own subkey derived with HKDF-SHA256, so the same master key serves both. A token names its
algorithm (`v1.sm4gcm.…` or `v1.aes256gcm.…`), so data written with one stays readable when a
later `cryptography` build adds (or a FIPS build drops) SM4. Without a configured key a random
one is written once to a key file (mode 0600) and a warning is logged: fine for a demo, not for
production, where the key belongs in the secret store that sets the environment.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from functools import cache
from pathlib import Path

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
SM4_GCM = "sm4gcm"
AES_256_GCM = "aes256gcm"
_VERSION = "v1"


class CryptoError(ValueError):
    """A key or token is unusable: wrong length, tampered with, or for an unknown algorithm."""


@cache
def sm4_gcm_available() -> bool:
    """Whether the installed `cryptography`/OpenSSL can do SM4 in GCM mode."""
    try:
        encryptor = Cipher(algorithms.SM4(bytes(16)), modes.GCM(bytes(NONCE_BYTES))).encryptor()
        encryptor.update(b"probe")
        encryptor.finalize()
    except (UnsupportedAlgorithm, ValueError, AttributeError):
        return False
    return True


def _subkey(master: bytes, algorithm: str, length: int) -> bytes:
    info = f"cityops data key {algorithm} {_VERSION}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CryptoError("token is not valid base64") from None


class DataCipher:
    """Encrypt and decrypt short strings, bound to a context (e.g. which row and field)."""

    def __init__(self, master_key: bytes, prefer: str | None = None) -> None:
        if len(master_key) != KEY_BYTES:
            raise CryptoError(f"the data key must be {KEY_BYTES} bytes, got {len(master_key)}")
        self._sm4 = _subkey(master_key, SM4_GCM, 16)
        self._aes = _subkey(master_key, AES_256_GCM, 32)
        chosen = prefer or (SM4_GCM if sm4_gcm_available() else AES_256_GCM)
        if chosen not in (SM4_GCM, AES_256_GCM):
            raise CryptoError(f"unknown algorithm {chosen!r}")
        if chosen == SM4_GCM and not sm4_gcm_available():
            raise CryptoError("SM4-GCM is not available in this cryptography/OpenSSL build")
        self.algorithm = chosen

    def encrypt(self, plaintext: str, context: str) -> str:
        """Encrypt text; the context is authenticated and must be given again to decrypt."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        data, aad = plaintext.encode("utf-8"), context.encode("utf-8")
        if self.algorithm == SM4_GCM:
            encryptor = Cipher(algorithms.SM4(self._sm4), modes.GCM(nonce)).encryptor()
            encryptor.authenticate_additional_data(aad)
            sealed = encryptor.update(data) + encryptor.finalize() + encryptor.tag
        else:
            sealed = AESGCM(self._aes).encrypt(nonce, data, aad)
        return f"{_VERSION}.{self.algorithm}.{_b64(nonce + sealed)}"

    def decrypt(self, token: str, context: str) -> str:
        """Decrypt a token made by `encrypt` with the same key and context."""
        version, _, rest = token.partition(".")
        algorithm, _, body = rest.partition(".")
        if version != _VERSION or algorithm not in (SM4_GCM, AES_256_GCM):
            raise CryptoError("token has an unknown format")
        raw = _unb64(body)
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise CryptoError("token is too short")
        nonce, sealed, aad = raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8")
        try:
            if algorithm == SM4_GCM:
                data = self._open_sm4(nonce, sealed, aad)
            else:
                data = AESGCM(self._aes).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise CryptoError(
                "token does not authenticate (wrong key, context or tampered)"
            ) from None
        return data.decode("utf-8")

    def _open_sm4(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
        decryptor = Cipher(algorithms.SM4(self._sm4), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(ciphertext) + decryptor.finalize()


def decode_key(text: str) -> bytes:
    """The master key from its base64 text (standard or URL-safe alphabet)."""
    cleaned = text.strip()
    try:
        key = base64.b64decode(
            cleaned.replace("-", "+").replace("_", "/") + "=" * (-len(cleaned) % 4)
        )
    except (binascii.Error, ValueError):
        raise CryptoError("CITYOPS_DATA_KEY is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise CryptoError(f"CITYOPS_DATA_KEY must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def new_key_text() -> str:
    """A fresh random master key, base64 encoded (for `CITYOPS_DATA_KEY`)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_from_file(path: Path, setting: str = "CITYOPS_DATA_KEY") -> bytes:
    """Read the key file, creating it (mode 0600, exclusively) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(new_key_text() + "\n")
            log.warning(
                "%s is not set: generated a key in %s (mode 0600). "
                "Keep it safe and back it up: what it protects cannot be read without it.",
                setting,
                path,
            )
    return decode_key(path.read_text("ascii"))


def load_cipher(key_text: str | None, key_file: Path) -> DataCipher:
    """The cipher for the configured key, else for the key file (generated on first use)."""
    key = decode_key(key_text) if key_text else key_from_file(key_file)
    return DataCipher(key)

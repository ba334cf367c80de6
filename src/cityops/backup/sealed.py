"""The encrypted container of a backup: scrypt from a passphrase, AES-256-GCM in sealed chunks.

Layout: MAGIC, a 16-byte salt, an 8-byte nonce prefix, then chunks of (4-byte length, sealed
bytes). Each chunk's nonce is the prefix and its index; its associated data names its index and
whether it is the last, so chunks cannot be reordered, dropped or the archive cut short.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"CITYOPS-BACKUP-1\n"
CHUNK_BYTES = 1 << 20
SALT_BYTES = 16
PREFIX_BYTES = 8


class ArchiveError(ValueError):
    """The archive is not ours, tampered with, cut short, or the passphrase is wrong."""


def _key(passphrase: str, salt: bytes) -> bytes:
    # scrypt with n=2^15, r=8: about 32 MiB and a fraction of a second per backup or restore.
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode("utf-8"))


def _aad(index: int, last: bool) -> bytes:
    return MAGIC + struct.pack(">Q?", index, last)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def seal_stream(plain: BinaryIO, out: BinaryIO, passphrase: str) -> None:
    """Encrypt everything `plain` holds into `out`."""
    if not passphrase:
        raise ArchiveError("a backup passphrase is required (CITYOPS_BACKUP_PASSPHRASE)")
    salt, prefix = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(PREFIX_BYTES)
    aead = AESGCM(_key(passphrase, salt))
    out.write(MAGIC + salt + prefix)
    index, chunk = 0, plain.read(CHUNK_BYTES)
    while True:
        following = plain.read(CHUNK_BYTES)
        last = not following
        sealed = aead.encrypt(_nonce(prefix, index), chunk, _aad(index, last))
        out.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        index, chunk = index + 1, following


def open_stream(sealed: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """Decrypted chunks of an archive; ArchiveError at the first that does not authenticate."""
    head = sealed.read(len(MAGIC) + SALT_BYTES + PREFIX_BYTES)
    if not head.startswith(MAGIC) or len(head) < len(MAGIC) + SALT_BYTES + PREFIX_BYTES:
        raise ArchiveError("not a cityops backup archive")
    salt = head[len(MAGIC) : len(MAGIC) + SALT_BYTES]
    prefix = head[len(MAGIC) + SALT_BYTES :]
    aead = AESGCM(_key(passphrase, salt))
    index, seen_last = 0, False
    while True:
        size_bytes = sealed.read(4)
        if not size_bytes:
            break
        if seen_last or len(size_bytes) < 4:
            raise ArchiveError("the archive has bytes after its last chunk")
        (size,) = struct.unpack(">I", size_bytes)
        body = sealed.read(size)
        if len(body) != size or size > CHUNK_BYTES + 16:
            raise ArchiveError("the archive is cut short")
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, index), body, _aad(index, last))
            except InvalidTag:
                continue
            seen_last = last
            yield plain
            break
        else:
            raise ArchiveError(
                f"chunk {index} does not authenticate: wrong passphrase or tampered archive"
            )
        index += 1
    if not seen_last:
        raise ArchiveError("the archive is cut short")

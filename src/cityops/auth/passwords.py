"""Password hashing (Argon2id, RFC 9106) and the password policy of 等保 2.0 level 3."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cityops.kit.errors import ProblemError

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile

MIN_LENGTH = 10
_CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[^A-Za-z0-9]"),
)


@cache
def _dummy_hash() -> str:
    """A fixed hash verified when the user does not exist, so timing does not reveal usernames."""
    return _hasher.hash("cityops-timing-equaliser")


#: Argon2 takes ~100 ms and 64 MiB per call: run it beside the event loop, two at a time, so a
#: burst of logins neither stalls other requests nor holds SQLite's write lock while hashing.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


async def hash_password_async(password: str) -> str:
    """Hash a password without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_executor, hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> bool:
    """Verify a password without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, verify_password, stored_hash, password)


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password against its stored hash in constant-ish time."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the stored hash uses older parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)


def policy_violations(password: str, username: str) -> list[str]:
    """What is wrong with a new password; empty when it meets the policy."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if sum(1 for pattern in _CLASSES if pattern.search(password)) < 3:
        problems.append("at least three of: lower case, upper case, digits, symbols")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if len(password) > 256:
        problems.append("at most 256 characters")
    return problems


def ensure_policy(password: str, username: str, field: str = "password") -> None:
    """Raise a 422 problem listing every policy rule a new password breaks."""
    problems = policy_violations(password, username)
    if problems:
        raise ProblemError(
            422,
            "validation",
            "The password does not meet the policy.",
            errors=[
                {"loc": ["body", field], "msg": p, "type": "password_policy"} for p in problems
            ],
        )

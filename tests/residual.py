"""A pytest plugin: no secret or personal data in any log record of the whole run (等保 2.0
residual information). Loaded from tests/conftest.py; it watches the `cityops` loggers at INFO,
the level production runs at, and fails the session at its end when a record held
* an unmasked mainland mobile number (the tests' reporters all leave one),
* the test accounts' password, or
* the data key or audit key of the run (read from their key files once they exist).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

MOBILE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d.])")


class SecretWatch(logging.Handler):
    """Keeps the records that hold something they must not."""

    def __init__(self, password: str) -> None:
        super().__init__(logging.INFO)
        self.literals = [password]
        self.keys_seen = 0
        self.leaks: list[str] = []

    def _refresh(self) -> None:
        # The key files may be generated during the run, on first use: pick them up then.
        if self.keys_seen < 2:
            keys = _key_texts()
            self.literals = [self.literals[0], *keys]
            self.keys_seen = len(keys)

    def emit(self, record: logging.LogRecord) -> None:
        """Check one record's message and traceback."""
        self._refresh()
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format: check the template
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        found = [s for s in self.literals if s and s in text]
        if found or MOBILE.search(text):
            for secret in found:  # the report itself must not repeat what leaked
                text = text.replace(secret, "<secret>")
            text = MOBILE.sub(lambda m: m.group()[:3] + "****" + m.group()[-4:], text)
            if len(self.leaks) < 20:
                self.leaks.append(f"{record.name}: {text[:200]!r}")


_watch: SecretWatch | None = None


def _key_texts() -> list[str]:
    texts = []
    for name in ("data.key", "audit.key"):
        path = Path("var") / name
        if path.is_file():
            texts.append(path.read_text("ascii").strip())
    return texts


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start watching the platform's loggers."""
    global _watch
    from tests.conftest import PASSWORD

    _watch = SecretWatch(PASSWORD)
    logger = logging.getLogger("cityops")
    logger.addHandler(_watch)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any record leaked; key files made during the run are checked now too."""
    if _watch is None:
        return
    logging.getLogger("cityops").removeHandler(_watch)
    if _watch.leaks:
        print("\nresidual information: log records held secrets or personal data:")
        for leak in _watch.leaks:
            print("  " + leak)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""The auth branch (auth0001) builds exactly the tables and column of the models, and goes back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import Backend
from tests.migrations import assert_up_down_up, model_differences

TABLES = {"login_throttle", "account_totp", "account_recovery_code"}


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert model_differences(backend.settings.database_url, TABLES | {"auth_token"}) == []


def test_auth0001_goes_up_and_down(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    assert_up_down_up(path, "auth0001", "auth@base", TABLES)
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(auth_token)")}
    assert "allowed_networks" in columns


def test_auth0002_adds_source_grants_drops_lock_columns_and_goes_back(
    tmp_path: Path, backend: Backend
) -> None:
    from cityops.kit.migrate import downgrade, upgrade

    assert (
        model_differences(
            backend.settings.database_url, {"source_grants", "failed_logins", "locked_until"}
        )
        == []
    )
    path = tmp_path / "g.db"
    url = f"sqlite+aiosqlite:///{path}"

    def columns() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[1] for r in conn.execute("PRAGMA table_info(account)")}

    upgrade(url, "auth0002")
    assert "source_grants" in columns()
    assert not {"failed_logins", "locked_until"} & columns()
    downgrade(url, "auth0001")
    assert "source_grants" not in columns()
    assert {"failed_logins", "locked_until"} <= columns()
    upgrade(url, "heads")
    assert "source_grants" in columns()

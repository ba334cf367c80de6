"""In Chromium: the audit admin's log page lists, filters and exports, and its reads are audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.real_server import chromium, open_session, running_cityops

PASSWORD = "Audit-Browser-Passw0rd!"
ACCOUNTS = {
    "b_auditor": ("audit_admin", "310117", "审计员"),
    "b_duty": ("district_officer", "310117", "值班长"),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server with an audit admin and a duty officer (password sign-in, as in the suite)."""
    with running_cityops(tmp_path_factory.mktemp("audit"), ACCOUNTS, PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/")


def _cells(page: Any, column: int) -> list[str]:
    """The text of one column of the audit table, row by row."""
    rows = page.locator("#audit-table tbody tr")
    return [rows.nth(i).locator("td").nth(column).inner_text() for i in range(rows.count())]


def test_the_audit_admin_filters_exports_and_is_audited(base: str, browser: Any) -> None:
    duty = open_session(browser)
    _log_in(duty.page, base, "b_duty")  # an entry to find: the duty officer's login
    duty.context.close()
    session = open_session(browser, console_errors=True)
    page = session.page
    _log_in(page, base, "b_auditor")
    page.goto(f"{base}/audit")
    assert page.locator("#audit-table tbody tr").count() >= 2
    page.fill("#audit-filters input[name=actor]", "b_duty")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**/audit?*actor=b_duty*")
    actors = _cells(page, 2)
    assert actors and set(actors) == {"b_duty"}  # only the duty officer's entries
    assert "auth.login" in _cells(page, 4)
    href = page.locator("#audit-export").get_attribute("href")  # keeps the filter
    assert href is not None and "actor=b_duty" in href
    export = page.request.get(f"{base}{href}")
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    exported = list(csv.reader(io.StringIO(export.text().lstrip("\ufeff"))))
    assert len(exported) >= 2 and any("b_duty" in row for row in exported[1:])
    # The admin's own reads are entries too: filter on them in the page.
    page.goto(f"{base}/audit?actor=b_auditor")
    assert any(action.startswith("audit.") for action in _cells(page, 4))
    assert session.errors == []  # the page runs under the strict CSP without errors
    session.context.close()

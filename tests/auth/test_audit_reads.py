"""The audit admin's reads: the API query and CSV export and the portal page, each itself audited."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from fastapi.testclient import TestClient

from cityops.auth.audit.admin import EXPORT_COLUMNS
from tests.auth.conftest import assert_problem, audit_entries
from tests.conftest import ACCOUNTS, PASSWORD, Login
from tests.portal import login_form

EXPORT = "/api/v1/audit/export.csv"


def portal_login(client: TestClient, username: str) -> None:
    """Log in through the portal form (the shared client follows redirects; the form expects 303)."""
    client.follow_redirects = False
    try:
        login_form.login(client, username, PASSWORD)
    finally:
        client.follow_redirects = True


def rows_of(body: str) -> list[dict[str, str]]:
    """The CSV rows (the BOM stripped)."""
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def test_each_api_query_of_the_log_is_itself_recorded(client: TestClient, login: Login) -> None:
    marker = f"nobody_{uuid.uuid4().hex[:8]}"
    assert audit_entries(client, login, actor=marker) == []
    reads = audit_entries(client, login, action="audit.read", actor="t_auditor")
    assert reads[0]["detail"]["filter"] == {"actor": marker}
    assert reads[0]["detail"]["rows"] == 0 and reads[0]["target"] == "audit_log"


def test_the_csv_export_has_the_chain_fields_and_is_audited(
    client: TestClient, login: Login
) -> None:
    reply = client.get(EXPORT, params={"action": "auth.login"}, headers=login.headers("t_auditor"))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = rows_of(reply.text)
    assert rows and list(rows[0]) == list(EXPORT_COLUMNS)
    assert all(r["action"] == "auth.login" for r in rows)
    seqs = [int(r["seq"]) for r in rows if r["seq"]]
    assert seqs == sorted(seqs) and all(len(r["mac"]) == 64 for r in rows if r["seq"])
    exports = audit_entries(client, login, action="audit.export")
    assert exports[0]["detail"] == {
        "filter": {"action": "auth.login"},
        "rows": len(rows),
        "format": "csv",
    }


@pytest.mark.parametrize("username", sorted(set(ACCOUNTS) - {"t_auditor"}))
def test_only_the_audit_admin_exports(client: TestClient, login: Login, username: str) -> None:
    assert_problem(client.get(EXPORT, headers=login.headers(username)), 403, "forbidden")


def test_the_export_refuses_a_naive_time(client: TestClient, login: Login) -> None:
    reply = client.get(
        EXPORT, params={"since": "2026-01-01T00:00"}, headers=login.headers("t_auditor")
    )
    assert_problem(reply, 422, "validation")


def test_the_portal_page_filters_exports_and_is_audited(client: TestClient, login: Login) -> None:
    try:
        portal_login(client, "t_auditor")
        page = client.get("/audit", params={"action": "auth.login", "result": "success"})
        assert page.status_code == 200, page.text
        assert 'id="audit-table"' in page.text and "auth.login" in page.text
        assert 'href="/audit/export.csv?action=auth.login&amp;result=success"' in page.text
        export = client.get("/audit/export.csv", params={"action": "auth.login"})
        assert export.status_code == 200 and export.headers["cache-control"] == "no-store"
        assert {r["action"] for r in rows_of(export.text)} == {"auth.login"}
        bad = client.get("/audit", params={"since": "not-a-date", "page": "1"})
        assert bad.status_code == 200  # an unreadable date is no filter, not a server error
    finally:
        client.cookies.clear()
    reads = audit_entries(client, login, action="audit.", actor="t_auditor")
    kinds = [(r["action"], r["detail"]["filter"]) for r in reads[:4]]
    assert ("audit.export", {"action": "auth.login"}) in kinds
    assert ("audit.read", {"action": "auth.login", "result": "success"}) in kinds


def test_the_portal_page_is_refused_to_other_roles(client: TestClient) -> None:
    try:
        portal_login(client, "t_admin")
        assert client.get("/audit").status_code == 403
        assert client.get("/audit/export.csv").status_code == 403
    finally:
        client.cookies.clear()
    assert client.get("/audit", follow_redirects=False).status_code == 303

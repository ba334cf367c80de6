"""The data scope on every org and accounts endpoint: towns, a grid worker and the district."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cityops.auth.roles import Role
from tests.auth.conftest import account_id, assert_problem, bearer, log_in, new_account
from tests.conftest import Backend, Login

ORG = "/api/v1/org"
ACCOUNTS = "/api/v1/accounts"


@pytest.mark.parametrize(
    ("username", "code", "status"),
    [
        ("t_sijing", "310117", 200),  # an ancestor is readable as a path
        ("t_sijing", "310117102", 200),
        ("t_sijing", "310117102001", 200),
        ("t_sijing", "310117102001001", 200),
        ("t_sijing", "310117102M01", 200),
        ("t_sijing", "310117103", 403),
        ("t_sijing", "310117103001", 403),
        ("t_sijing", "310117103201", 403),
        ("t_sijing", "310117103M01", 403),
        ("t_sijing", "310117504", 403),
        ("t_sheshan", "310117103201", 200),
        ("t_sheshan", "310117102", 403),
        ("t_grid", "310117", 200),
        ("t_grid", "310117102", 200),
        ("t_grid", "310117102001", 200),
        ("t_grid", "310117102001001", 200),
        ("t_grid", "310117102002", 403),
        ("t_grid", "310117102M01", 403),
        ("t_grid", "310117103", 403),
        ("t_duty", "310117103201", 200),
        ("t_duty", "310117102001001", 200),
        ("t_duty", "310117507", 200),
        ("t_leader", "310117104", 200),
    ],
)
@pytest.mark.parametrize("suffix", ["", "/children", "/departments"])
def test_unit_children_and_departments_follow_the_scope(
    client: TestClient, login: Login, username: str, code: str, status: int, suffix: str
) -> None:
    reply = client.get(f"{ORG}/{code}{suffix}", headers=login.headers(username))
    if status == 403:
        body = assert_problem(reply, 403, "out-of-scope")
        assert body["code"] == code
    else:
        assert reply.status_code == 200, reply.text


@pytest.mark.parametrize("username", ["t_sijing", "t_grid", "t_duty"])
@pytest.mark.parametrize("code", ["310117999", "310117102999", "310117102001999", "999999"])
@pytest.mark.parametrize("suffix", ["", "/children", "/departments"])
def test_unknown_codes_are_404_for_everyone(
    client: TestClient, login: Login, username: str, code: str, suffix: str
) -> None:
    reply = client.get(f"{ORG}/{code}{suffix}", headers=login.headers(username))
    assert assert_problem(reply, 404, "not-found")["key"] == code


def _children(
    client: TestClient, login: Login, username: str, code: str, **params: str
) -> list[str]:
    reply = client.get(f"{ORG}/{code}/children", params=params, headers=login.headers(username))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["total"] == len(body["items"])
    return [item["code"] for item in body["items"]]


def test_children_lists_only_what_the_caller_may_see(client: TestClient, login: Login) -> None:
    assert len(_children(client, login, "t_duty", "310117")) == 20
    assert len(_children(client, login, "t_duty", "310117102")) == 42
    assert len(_children(client, login, "t_duty", "310117103")) == 27
    assert _children(client, login, "t_sijing", "310117") == ["310117102"]
    sijing = _children(client, login, "t_sijing", "310117102")
    assert len(sijing) == 42 and all(code.startswith("310117102") for code in sijing)
    assert _children(client, login, "t_sheshan", "310117") == ["310117103"]
    assert len(_children(client, login, "t_sheshan", "310117103")) == 27
    assert _children(client, login, "t_grid", "310117") == ["310117102"]
    assert _children(client, login, "t_grid", "310117102") == ["310117102001"]
    grids = _children(client, login, "t_grid", "310117102001")
    assert 3 <= len(grids) <= 7
    assert all(code.startswith("310117102001") and len(code) == 15 for code in grids)
    # Multi-grid units are an overlay, listed only on request and only inside the scope.
    multi = _children(client, login, "t_sijing", "310117102", level="multigrid")
    assert multi and all(code.startswith("310117102M") for code in multi)
    assert _children(client, login, "t_sijing", "310117", level="multigrid") == []
    assert _children(client, login, "t_grid", "310117102", level="multigrid") == []


def test_a_grid_worker_sees_its_town_as_the_only_child_of_the_district(
    client: TestClient, login: Login
) -> None:
    reply = client.get(f"{ORG}/310117/children", headers=login.headers("t_grid"))
    [town] = reply.json()["items"]
    assert town["code"] == "310117102"
    assert [p["code"] for p in town["path"]] == ["310117"]


def _search(client: TestClient, login: Login, username: str, q: str, under: str = "") -> list[str]:
    params = {"q": q, "limit": "200", **({"under": under} if under else {})}
    reply = client.get(ORG, params=params, headers=login.headers(username))
    assert reply.status_code == 200, reply.text
    return [item["code"] for item in reply.json()["items"]]


def test_search_never_returns_other_towns_units(client: TestClient, login: Login) -> None:
    sijing = _search(client, login, "t_sijing", "社区居委会")
    assert len(sijing) == 42
    assert all(code.startswith("310117102") for code in sijing)
    assert _search(client, login, "t_sijing", "佘山") == []
    assert _search(client, login, "t_sijing", "村委会") == []
    assert _search(client, login, "t_sijing", "居委会", under="310117103") == []
    sijing_named = _search(client, login, "t_sijing", "泗泾")
    assert sijing_named[0] == "310117102"
    assert all(code.startswith("310117102") for code in sijing_named)
    assert _search(client, login, "t_sheshan", "泗泾") == []
    sheshan = _search(client, login, "t_sheshan", "佘山")
    assert sheshan[:3] == ["310117103", "310117103007", "310117103016"]
    assert all(code.startswith("310117103") for code in sheshan)
    assert len(_search(client, login, "t_sheshan", "村委会")) == 10
    grid = _search(client, login, "t_grid", "网格")
    assert grid and all(code.startswith("310117102001") for code in grid)
    assert _search(client, login, "t_grid", "社区居委会") == ["310117102001"]
    duty = _search(client, login, "t_duty", "佘山")
    assert {"310117103", "310117504", "310117103007", "310117504498"} <= set(duty)


def test_departments_follow_the_scope(client: TestClient, login: Login) -> None:
    def departments(username: str, code: str) -> list[dict[str, object]]:
        reply = client.get(f"{ORG}/{code}/departments", headers=login.headers(username))
        assert reply.status_code == 200, reply.text
        items: list[dict[str, object]] = reply.json()
        return items

    town = departments("t_sijing", "310117102")
    assert len(town) == 8
    assert {d["org_code"] for d in town} == {"310117102"}
    assert all(d["synthetic"] is True for d in town)
    assert len(departments("t_duty", "310117")) == 9
    assert len(departments("t_duty", "310117103")) == 8
    # The district is on the town's path, but its departments are outside the town's scope.
    assert departments("t_sijing", "310117") == []
    assert departments("t_grid", "310117102") == []


@pytest.mark.parametrize("username", ["t_sijing", "t_grid", "t_duty", "t_admin", "t_leader"])
def test_releases_are_the_districts_division_years(
    client: TestClient, login: Login, username: str
) -> None:
    reply = client.get(f"{ORG}/releases", headers=login.headers(username))
    assert reply.status_code == 200
    [release] = reply.json()
    assert (release["district_code"], release["year"]) == ("310117", 2023)
    assert (release["unit_count"], release["community_count"]) == (20, 386)


@pytest.mark.parametrize("path", ["/releases", "/310117", "/310117/children", "?q=泗泾"])
def test_the_audit_admin_reads_no_org_data(client: TestClient, login: Login, path: str) -> None:
    assert_problem(client.get(f"{ORG}{path}", headers=login.headers("t_auditor")), 403, "forbidden")


GRIDS_103 = "code,name,parent_code\n310117103001901,陈坊测试网格,310117103001\n"
GRIDS_MIXED = (
    "code,name,parent_code\n"
    "310117102001901,张泾测试网格,310117102001\n"
    "310117103001901,陈坊测试网格,310117103001\n"
)


@pytest.mark.parametrize(
    ("username", "content", "slug"),
    [
        ("t_sijing", GRIDS_103, "forbidden"),  # no org.import
        ("t_duty", GRIDS_103, "forbidden"),
        ("t_security", GRIDS_103, "forbidden"),
        ("t_sijing_admin", GRIDS_103, "out-of-scope"),
        ("t_sijing_admin", GRIDS_MIXED, "out-of-scope"),
    ],
)
def test_grid_import_is_refused_outside_role_and_scope(
    client: TestClient, login: Login, username: str, content: str, slug: str
) -> None:
    reply = client.post(
        f"{ORG}/grids/import",
        files={"file": ("grids.csv", content.encode(), "text/csv")},
        headers=login.headers(username),
    )
    assert_problem(reply, 403, slug)
    for community in ("310117102001", "310117103001"):
        grids = client.get(f"{ORG}/{community}/children", headers=login.headers("t_duty")).json()
        assert all(item["synthetic"] for item in grids["items"])
        assert not any(item["code"].endswith("901") for item in grids["items"])


def test_a_multigrid_account_sees_its_member_communities(
    client: TestClient, backend: Backend, login: Login
) -> None:
    fresh = new_account(backend, Role.GRID_WORKER, "310117102M01", prefix="multi")
    headers = bearer(log_in(client, fresh.username))
    me = client.get("/api/v1/auth/me", headers=headers).json()
    members = [code for code in me["scope"] if code != "310117102M01"]
    assert "310117102M01" in me["scope"]
    assert 2 <= len(members) <= 5
    for code in members:
        unit = client.get(f"{ORG}/{code}", headers=headers)
        assert unit.status_code == 200
        assert unit.json()["multigrid_code"] == "310117102M01"
    visible = _children_with(client, headers, "310117102")
    assert sorted(visible) == sorted(members)
    town = _children(client, login, "t_duty", "310117102")
    outside = [code for code in town if code not in members]
    assert len(outside) == 42 - len(members)
    for code in outside[:5]:
        assert_problem(client.get(f"{ORG}/{code}", headers=headers), 403, "out-of-scope")


def _children_with(client: TestClient, headers: dict[str, str], code: str) -> list[str]:
    reply = client.get(f"{ORG}/{code}/children", headers=headers)
    assert reply.status_code == 200, reply.text
    return [item["code"] for item in reply.json()["items"]]


# --- accounts endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize("username", ["t_sijing", "t_grid", "t_duty", "t_leader", "t_auditor"])
def test_operational_roles_reach_no_accounts_endpoint(
    client: TestClient, login: Login, username: str
) -> None:
    headers = login.headers(username)
    own = account_id(client, login, username)
    for method, path, body in [
        ("GET", ACCOUNTS, None),
        ("GET", f"{ACCOUNTS}/{own}", None),
        (
            "POST",
            ACCOUNTS,
            {"username": "nobody_x", "role": "grid_worker", "org_code": "310117102001"},
        ),
        ("PATCH", f"{ACCOUNTS}/{own}", {"display_name": "x"}),
        ("POST", f"{ACCOUNTS}/{own}/reset-password", None),
        ("GET", f"{ACCOUNTS}/{own}/api-keys", None),
        ("POST", f"{ACCOUNTS}/{own}/api-keys", {"name": "k"}),
        ("DELETE", f"{ACCOUNTS}/{own}/api-keys/1", None),
    ]:
        reply = client.request(method, path, json=body, headers=headers)
        assert_problem(reply, 403, "forbidden")


def test_a_town_admin_sees_and_changes_only_its_towns_accounts(
    client: TestClient, backend: Backend, login: Login
) -> None:
    headers = login.headers("t_sijing_admin")
    sheshan = account_id(client, login, "t_sheshan")
    sijing = account_id(client, login, "t_sijing")
    duty = account_id(client, login, "t_duty")
    for other in (sheshan, duty):
        for method, path, body in [
            ("GET", f"{ACCOUNTS}/{other}", None),
            ("PATCH", f"{ACCOUNTS}/{other}", {"display_name": "hijacked"}),
            ("PATCH", f"{ACCOUNTS}/{other}", {"active": False}),
            ("POST", f"{ACCOUNTS}/{other}/reset-password", None),
        ]:
            reply = client.request(method, path, json=body, headers=headers)
            assert_problem(reply, 404, "not-found")
    assert client.get(f"{ACCOUNTS}/{sijing}", headers=headers).json()["username"] == "t_sijing"
    found = client.get(ACCOUNTS, params={"q": "t_sheshan"}, headers=headers).json()
    assert found["total"] == 0 and found["items"] == []
    by_role = client.get(ACCOUNTS, params={"role": "town_operator", "limit": 500}, headers=headers)
    assert {item["org_code"][:9] for item in by_role.json()["items"]} == {"310117102"}
    # Moving an account of the town out of the town is refused.
    fresh = new_account(backend, prefix="mover")
    move = client.patch(f"{ACCOUNTS}/{fresh.id}", json={"org_code": "310117103"}, headers=headers)
    assert_problem(move, 403, "out-of-scope")
    assert client.get(f"{ACCOUNTS}/{fresh.id}", headers=headers).json()["org_code"] == "310117102"
    # Everything in the town is the town admin's to manage.
    within = client.patch(
        f"{ACCOUNTS}/{fresh.id}", json={"org_code": "310117102001"}, headers=headers
    )
    assert within.status_code == 200
    assert within.json()["org_code"] == "310117102001"
    # API keys stay with the security admin, even inside the town.
    assert_problem(client.get(f"{ACCOUNTS}/{fresh.id}/api-keys", headers=headers), 403, "forbidden")

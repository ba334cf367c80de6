"""Portal pages over HTTP without a browser: login, CSRF, redirects, data scope, error pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from tests.conftest import seed_with_accounts
from tests.portal import login_form
from tests.portal.login_form import login_token, post_login, token_of

PASSWORD = "Portal-Passw0rd!"
NEW_PASSWORD = "Changed-Passw0rd#2"
SYNTHETIC = "合成数据（非官方）"

ACCOUNTS: dict[str, tuple[Role, str]] = {
    "p_sijing": (Role.TOWN_OPERATOR, "310117102"),
    "p_duty": (Role.DISTRICT_OFFICER, "310117"),
    "p_auditor": (Role.AUDIT_ADMIN, "310117"),
    "p_lock": (Role.TOWN_OPERATOR, "310117102"),
    "p_pw": (Role.TOWN_OPERATOR, "310117102"),
    "p_forged": (Role.TOWN_OPERATOR, "310117102"),
}


async def _prepare(settings: Settings) -> str:
    async def work(session: AsyncSession) -> str | None:
        await seed_with_accounts(settings, ACCOUNTS, PASSWORD, session)
        _, one_time = await create_account(
            session,
            None,
            NewAccount(username="p_fresh", role=Role.TOWN_OPERATOR, org_code="310117102"),
        )
        return one_time

    one_time = await in_unit_of_work(settings.database_url, work)
    assert one_time is not None
    return one_time


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """A client of an app on a migrated, seeded SQLite database, and p_fresh's one-time password."""
    path: Path = tmp_path_factory.mktemp("portal") / "cityops.db"
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(database_url=url, principal_cache_seconds=0, _env_file=None)  # type: ignore[call-arg]
    upgrade(url)
    one_time = asyncio.run(_prepare(settings))
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, one_time


@pytest.fixture
def client(portal: tuple[TestClient, str]) -> TestClient:
    """The portal client with no session cookie."""
    portal[0].cookies.clear()
    return portal[0]


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Log in through the form; the client keeps the session cookie."""
    login_form.login(client, username, password)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def rows_of(html: str, section: str = "") -> list[str]:
    """The table rows of a page, or of the section with the given id."""
    if section:
        start = html.index(f'id="{section}"')
        html = html[start : html.index("</section>", start)]
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r"<tr.*?</tr>", body, flags=re.S)


def test_pages_redirect_to_login_when_not_logged_in(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/login"
    assert client.get("/org/310117102").headers["location"] == "/login?next=/org/310117102"
    assert client.get("/password").headers["location"] == "/login"
    form = client.get("/login")
    assert form.status_code == 200
    assert "松江区城市运行管理中心" in form.text
    assert form.headers["content-type"].startswith("text/html")


def test_login_sets_the_same_cookie_as_the_api_and_honours_next(client: TestClient) -> None:
    reply = post_login(client, "p_duty", PASSWORD, "/org/310117102")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/org/310117102"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith("cityops_session=cos_")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert client.get("/api/v1/auth/me").json()["account"]["username"] == "p_duty"


def test_login_never_redirects_off_site(client: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        reply = post_login(client, "p_duty", PASSWORD, target)
        assert reply.headers["location"] == "/"


def test_failed_login_shows_the_error_and_stays_recorded(client: TestClient) -> None:
    reply = post_login(client, "p_lock", "wrong")
    assert reply.status_code == 401
    assert "用户名或密码错误" in reply.text
    assert "cityops_session" not in reply.headers.get("set-cookie", "")
    for _ in range(2):
        assert post_login(client, "p_lock", "wrong").status_code == 401
    warned = post_login(client, "p_lock", "wrong")  # one try left: the page warns first
    assert "再错 1 次，本地址的登录将被锁定 15 分钟" in warned.text
    last = post_login(client, "p_lock", "wrong")  # the fifth failure locks this address
    assert "本地址的登录已被锁定 15 分钟" in last.text
    locked = post_login(client, "p_lock", PASSWORD)
    assert locked.status_code == 429
    assert "请 15 分钟后再试" in locked.text
    assert int(locked.headers["retry-after"]) <= 15 * 60
    assert failed_logins(client, "p_lock") == 6


def failed_logins(client: TestClient, username: str) -> int:
    """How many failed logins of an account the audit log holds (the client is left logged out)."""
    token = client.post(
        "/api/v1/auth/login", json={"username": "p_auditor", "password": PASSWORD}
    ).json()["access_token"]
    client.cookies.clear()
    audit = client.get(
        "/api/v1/audit",
        params={"actor": username, "action": "auth.login", "result": "failure"},
        headers={"Authorization": f"Bearer {token}"},
    )
    total: int = audit.json()["total"]
    return total


def logged_in_as(client: TestClient) -> str | None:
    """The account the client's session cookie belongs to, if any."""
    me = client.get("/api/v1/auth/me")
    return me.json()["account"]["username"] if me.status_code == 200 else None


def test_the_login_form_carries_its_token_in_a_strict_cookie(client: TestClient) -> None:
    form = client.get("/login")
    cookie = form.headers["set-cookie"]
    assert cookie.startswith("cityops_login=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/login" in cookie
    token = client.cookies.get("cityops_login")
    assert token and f'name="csrf_token" value="{token}"' in form.text
    assert login_token(client) == token  # the same token again: a second tab's form still works


def refused_login(
    client: TestClient, token: str | None, username: str = "p_duty", password: str = PASSWORD
) -> httpx.Response:
    """Post the login form with this token (None: without one); insist it is refused, logged out."""
    data = {"username": username, "password": password}
    if token is not None:
        data["csrf_token"] = token
    reply = client.post("/login", data=data)
    assert reply.status_code == 403, token
    assert "页面已过期，请重新登录" in reply.text
    assert "cityops_session" not in reply.headers.get("set-cookie", "")
    assert logged_in_as(client) is None
    return reply


def test_a_login_without_the_form_token_is_refused(client: TestClient) -> None:
    login_token(client)  # the cookie, but no token in the body
    refused_login(client, None)
    token = login_token(client)  # a token in the body, but no cookie (a post from another site)
    client.cookies.clear()
    refused_login(client, token)


def test_a_login_with_a_wrong_token_is_refused_and_the_refusal_is_a_fresh_form(
    client: TestClient,
) -> None:
    login_token(client)
    for wrong in ("0" * 32, "口令" * 16, "f" * 5000):
        refused = refused_login(client, wrong)
    token = token_of(refused.text)
    assert token == client.cookies.get("cityops_login")
    data = {"csrf_token": token, "username": "p_duty", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 303


def test_a_login_with_the_form_token_logs_in(client: TestClient) -> None:
    reply = post_login(client, "p_duty", PASSWORD)
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    assert logged_in_as(client) == "p_duty"


def test_a_token_from_another_browser_does_not_log_in(client: TestClient) -> None:
    theirs = login_token(client)  # the attacker's own browser
    client.cookies.clear()
    assert login_token(client) != theirs  # the victim's browser, with a cookie of its own
    refused_login(client, theirs)


def test_refused_tokens_neither_count_towards_the_lockout_nor_fill_the_audit_log(
    client: TestClient,
) -> None:
    for _ in range(6):  # more than login_max_failures (5)
        refused_login(client, "0" * 32, "p_forged", "wrong")
    login(client, "p_forged")
    assert failed_logins(client, "p_forged") == 0


def test_logout_needs_the_csrf_token(client: TestClient) -> None:
    login(client, "p_sijing")
    home = client.get("/")
    refused = client.post("/logout", data={"csrf_token": "0" * 64})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "令牌"}).status_code == 403  # not a 500
    assert client.get("/").status_code == 200  # the session survived the forged logout
    done = client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    assert 'cityops_session=""' in done.headers["set-cookie"]
    assert client.get("/").headers["location"] == "/login"


def test_logout_revokes_the_token_for_the_api_too(client: TestClient) -> None:
    login(client, "p_sijing")
    token = client.cookies.get("cityops_session")
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    client.cookies.clear()
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_password_change_needs_the_csrf_token(client: TestClient) -> None:
    login(client, "p_pw")
    data = {
        "old_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    refused = client.post("/password", data=data)
    assert refused.status_code == 403
    login(client, "p_pw")  # the old password still works


def test_password_change_shows_policy_errors_in_chinese(client: TestClient) -> None:
    login(client, "p_pw")
    csrf = csrf_of(client.get("/password").text)
    weak = client.post(
        "/password",
        data={
            "csrf_token": csrf,
            "old_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert weak.status_code == 422
    assert "新密码至少需要 10 个字符" in weak.text
    wrong = client.post(
        "/password",
        data={
            "csrf_token": csrf,
            "old_password": "nope",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 403
    assert "当前密码不正确" in wrong.text
    differ = client.post(
        "/password",
        data={
            "csrf_token": csrf,
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": "x",
        },
    )
    assert differ.status_code == 400
    assert "两次输入的新密码不一致" in differ.text


def test_required_password_change_comes_first(portal: tuple[TestClient, str]) -> None:
    client, one_time = portal
    client.cookies.clear()
    reply = post_login(client, "p_fresh", one_time)
    assert reply.headers["location"] == "/password"
    assert client.get("/").headers["location"] == "/password"
    assert client.get("/org/310117102").headers["location"] == "/password"
    form = client.get("/password")
    assert "请先设置新密码" in form.text
    changed = client.post(
        "/password",
        data={
            "csrf_token": csrf_of(form.text),
            "old_password": one_time,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    home = client.get(changed.headers["location"])
    assert home.status_code == 200
    assert "密码已修改" in home.text


def test_town_operator_sees_only_its_town(client: TestClient) -> None:
    login(client, "p_sijing")
    home = client.get("/")
    rows = rows_of(home.text, "units")
    assert len(rows) == 1 and "泗泾镇" in rows[0] and 'href="/org/310117102"' in rows[0]
    assert "街镇操作员" in home.text
    town = client.get("/org/310117102")
    assert town.status_code == 200
    assert len(rows_of(town.text, "children")) == 42
    assert len(rows_of(town.text, "multigrids")) > 0
    district = client.get("/org/310117")  # an ancestor on the way: shown, with only the own town
    assert district.status_code == 200
    only = rows_of(district.text, "children")
    assert len(only) == 1 and "泗泾镇" in only[0]


def test_out_of_scope_and_unknown_units_are_html_error_pages(client: TestClient) -> None:
    login(client, "p_sijing")
    other = client.get("/org/310117103")
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("text/html")
    assert "不在您的数据范围内" in other.text
    assert "310117103" in other.text
    assert client.get("/org/310117103001").status_code == 403
    assert client.get("/org/310117103M01").status_code == 403
    unknown = client.get("/org/310117999")
    assert unknown.status_code == 404 and "不存在" in unknown.text
    assert client.get("/org/not-a-code").status_code == 404


def test_audit_admin_gets_the_audit_link_and_no_org_tree(client: TestClient) -> None:
    login(client, "p_auditor")
    home = client.get("/")
    assert 'href="/api/v1/audit"' in home.text
    assert 'id="units"' not in home.text
    assert client.get("/org/310117").status_code == 403
    login(client, "p_duty")
    assert 'href="/api/v1/audit"' not in client.get("/").text


def test_synthetic_rows_carry_the_badge_and_official_rows_their_source(client: TestClient) -> None:
    login(client, "p_duty")
    community = client.get("/org/310117102001")
    grids = rows_of(community.text, "children")
    assert 3 <= len(grids) <= 7
    assert all(SYNTHETIC in row for row in grids)
    assert 'id="synthetic-note"' in community.text
    assert "没有公开的网格清单" in community.text
    town = client.get("/org/310117102")
    assert all("NBS 2023 统计用区划代码" in row for row in rows_of(town.text, "children"))
    assert all(SYNTHETIC in row for row in rows_of(town.text, "multigrids"))
    multigrid = client.get("/org/310117102M01")
    assert SYNTHETIC in multigrid.text
    assert all("NBS 2023" in row for row in rows_of(multigrid.text, "children"))
    home = client.get("/")
    assert sum("1+18" in row for row in rows_of(home.text, "units")) == 18


def test_portal_pages_send_security_headers(client: TestClient) -> None:
    login(client, "p_duty")
    reply = client.get("/")
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["cache-control"] == "no-store"
    assert client.get("/static/portal.css").status_code == 200


def test_api_errors_stay_problem_json_and_portal_errors_are_pages(client: TestClient) -> None:
    html = {"accept": "text/html,application/xhtml+xml"}
    api = client.get("/api/v1/org/310117", headers=html)
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    assert (
        client.get("/api/v1/nope", headers=html).headers["content-type"]
        == "application/problem+json"
    )
    page = client.get("/nope", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    # A bad query parameter on a page: an HTML page in Chinese naming it, not English JSON.
    bad = client.get("/towns/310117102/page", params={"token": "x" * 500}, headers=html)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "网址中的参数 token 的值无法使用" in bad.text
    assert "String should have" not in bad.text


@pytest.mark.parametrize("accept", [None, "*/*", "text/html", "image/webp,*/*;q=0.8"])
def test_plain_requests_for_pages_get_the_chinese_page(
    client: TestClient, accept: str | None
) -> None:
    """curl (`*/*`), a bare request (no Accept) and a browser all read a page: the Chinese one."""
    headers = {} if accept is None else {"accept": accept}
    request = client.build_request(
        "GET", "/towns/310117102/page", params={"token": "x" * 500}, headers=headers
    )
    if accept is None:
        del request.headers["accept"]
    bad = client.send(request)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "网址中的参数 token 的值无法使用" in bad.text and "String should have" not in bad.text
    missing = client.get("/nope", headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "accept", ["application/json", "application/problem+json", "application/json, */*"]
)
def test_json_clients_keep_problem_json_on_pages(client: TestClient, accept: str) -> None:
    """A client that names JSON gets the machine answer, on a page path as on the API."""
    bad = client.get(
        "/towns/310117102/page", params={"token": "x" * 500}, headers={"accept": accept}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["status"] == 422


@pytest.mark.parametrize("accept", [None, "*/*", "text/html"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/open311/v2/nope.json"])
def test_api_paths_answer_problem_json_to_anyone(
    client: TestClient, accept: str | None, path: str
) -> None:
    """The machine APIs never answer with a page (Open311 keeps its GeoReport JSON errors)."""
    request = client.build_request("GET", path, headers={"accept": accept or ""})
    if accept is None:
        del request.headers["accept"]
    reply = client.send(request)
    assert reply.status_code == 404
    expected = "application/problem+json" if path.startswith("/api/") else "application/json"
    assert reply.headers["content-type"].startswith(expected)

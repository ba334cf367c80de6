"""What the hotline tests share: accounts, settings, and the `Hotline` handle on the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.roles import Role
from cityops.cases.flow.env import CaseEnv
from cityops.config import Settings
from cityops.kit.outbox.dispatcher import PassReport
from cityops.org.models import Department
from cityops.outbox.runtime import OutboxRuntime
from tests.cases.conftest import FakeClock, sh
from tests.conftest import PASSWORD, Backend, Login
from tests.http_peer import Peer, Seen
from tests.notify.wechat_peer import AGENT_ID, APP_ID, APP_SECRET, CORP_ID, CORP_SECRET, WeChatPeer

SYSTEM = "sh12345"  # the district's 12345 system: a signing secret and a default callback URL
SHESHAN = "hl_sheshan"  # a 12345 sub-system of 佘山镇 only
UNSIGNED = "hl_unsigned"  # a system without a configured secret
HANDLER = "hl_sw_handler"  # 泗泾镇水务站
SECRET = "hotline-signing-secret-0123456789"
CALLBACK_PATH = "/sh12345/callback"
ORDERS = "/api/v1/sources/12345/orders"
#: A Monday no other case test uses: KPI tests count the cases of their own day.
START = sh(2026, 11, 16, 9, 0)


def hotline_settings(backend: Backend, callback: Peer, wechat: WeChatPeer) -> Settings:
    """The backend's settings plus the hotline, WeCom and official-account configuration."""
    return Settings(  # type: ignore[call-arg]
        database_url=backend.settings.database_url,
        principal_cache_seconds=0,
        scheduler=False,
        outbox_backoff_seconds=10,
        outbox_timeout_seconds=2,
        hotline_systems={
            SYSTEM: {"secret": SECRET, "callback_url": callback.url(CALLBACK_PATH)},
            SHESHAN: {"secret": SECRET + "-sheshan"},
        },
        hotline_callback_hosts=["127.0.0.1", "*.12345.sh.gov.cn"],
        wecom_enabled=True,
        wecom_base_url=wechat.base,
        wecom_corp_id=CORP_ID,
        wecom_secret=CORP_SECRET,
        wecom_agent_id=AGENT_ID,
        wecom_recipients={
            "310117102/sw": {"users": ["sw_zhang"], "parties": ["21"]},
            "310117102": {"parties": ["2"]},
        },
        wecom_case_url="https://cityops.example.gov.cn/portal/cases/{id}",
        mp_enabled=True,
        mp_base_url=wechat.base,
        mp_app_id=APP_ID,
        mp_secret=APP_SECRET,
        mp_template_id="tmpl-case-news",
        mp_case_url="https://h5.example.gov.cn/cases/{id}",
        _env_file=None,
    )


async def accounts(session: AsyncSession) -> dict[str, int]:
    stmt = select(Department).where(Department.org_code == "310117102", Department.key == "sw")
    department = await session.scalar(stmt)
    assert department is not None
    made = {}
    for name, role, org in (
        (SYSTEM, Role.SYSTEM_CLIENT, "310117"),
        (SHESHAN, Role.SYSTEM_CLIENT, "310117103"),
        (UNSIGNED, Role.SYSTEM_CLIENT, "310117"),
    ):
        granted = NewAccount(name, role, org, sources=("hotline_12345",))
        account, _ = await create_account(session, None, granted)
        made[name] = account.id
    handler, _ = await create_account(
        session,
        None,
        NewAccount(
            HANDLER, Role.DEPT_HANDLER, "310117102", department_id=department.id, password=PASSWORD
        ),
    )
    made[HANDLER] = handler.id
    return made


@dataclass
class Hotline:
    """The app, its receivers, and short calls."""

    client: TestClient
    env: CaseEnv
    runtime: OutboxRuntime
    clock: FakeClock
    peer: Peer
    wechat: WeChatPeer
    login: Login
    keys: dict[str, dict[str, str]]
    started_in_lifespan: bool

    def headers(self, who: str) -> dict[str, str]:
        """A system's API key, or a person's bearer token."""
        return self.keys[who] if who in self.keys else self.login.headers(who)

    def order(self, who: str = SYSTEM, **body: Any) -> httpx.Response:
        """POST a 12345 order."""
        return self.client.post(ORDERS, json=body, headers=self.headers(who))

    def act(self, who: str, case_id: int, action: str, **body: Any) -> dict[str, Any]:
        """Act on a case and insist on success."""
        reply = self.client.post(
            f"/api/v1/cases/{case_id}/actions/{action}", json=body, headers=self.headers(who)
        )
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()
        return result

    def deliver(self) -> PassReport:
        """One dispatcher pass at the case clock's time."""
        report: PassReport = self.client.portal.call(self.runtime.dispatcher.run_once)  # type: ignore[union-attr]
        return report

    def callbacks(self, order_no: str, status: int | None = 200) -> list[Seen]:
        """The callbacks the 12345 system received for one order, in arrival order."""
        return [
            s for s in self.peer.received(CALLBACK_PATH, status) if s.json()["order_no"] == order_no
        ]

    def drain(self) -> None:
        """Deliver (or let fail) everything still pending, so no test inherits another's rows."""
        for _ in range(30):
            self.clock.advance(days=1)
            if self.deliver().handled == 0:
                break

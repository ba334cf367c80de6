"""The real official-account adapter against a local server playing WeChat's endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest

from cityops.notify.base import Notice, Recipients, SendResult
from cityops.notify.mp import OfficialAccountNotifier
from tests.http_peer import running
from tests.notify.wechat_peer import APP_ID, APP_SECRET, WeChatPeer

T = TypeVar("T")
OPENID = "oXyZ_0123456789abcdefghijklm"
CLOSED = Notice(
    Recipients((OPENID,)),
    "您反映的问题已办结",
    "已更换井盖",
    "https://h5.example.gov.cn/cases/17",
    template="tmpl-case-closed",
    fields={"first": "您反映的问题已办结", "keyword1": "17", "keyword2": "已结案"},
    dedupe_key="5f0c3c8e-9a51-4d3e-9e49-0c2f4a1b7d10",
)


@pytest.fixture
def wechat() -> Iterator[WeChatPeer]:
    """The official-account API on 127.0.0.1."""
    with running(WeChatPeer()) as peer:
        yield peer


def with_mp(peer: WeChatPeer, work: Callable[[OfficialAccountNotifier], Awaitable[T]]) -> T:
    """Run `work` with an adapter pointed at the peer."""

    async def main() -> T:
        async with httpx.AsyncClient(trust_env=False) as client:
            mp = OfficialAccountNotifier(
                client, base_url=peer.base, app_id=APP_ID, secret=APP_SECRET
            )
            return await work(mp)

    return asyncio.run(main())


def test_template_message_wire_format(wechat: WeChatPeer) -> None:
    async def work(mp: OfficialAccountNotifier) -> SendResult:
        return await mp.send(CLOSED)

    result = with_mp(wechat, work)
    assert result.ok and result.message_id == "200228332"
    token_call, send = wechat.received()
    assert (token_call.method, token_call.path) == ("GET", "/cgi-bin/token")
    assert token_call.query == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": APP_SECRET,
    }
    assert (send.method, send.path, send.query) == (
        "POST",
        "/cgi-bin/message/template/send",
        {"access_token": "token-1"},
    )
    assert send.json() == {
        "touser": OPENID,
        "template_id": "tmpl-case-closed",
        "url": "https://h5.example.gov.cn/cases/17",
        "client_msg_id": "5f0c3c8e-9a51-4d3e-9e49-0c2f4a1b7d10",
        "data": {
            "first": {"value": "您反映的问题已办结"},
            "keyword1": {"value": "17"},
            "keyword2": {"value": "已结案"},
        },
    }


@pytest.mark.parametrize("refuse", ["expire_all", "forget_all"])
def test_a_refused_token_is_renewed_once(wechat: WeChatPeer, refuse: str) -> None:
    async def work(mp: OfficialAccountNotifier) -> tuple[bool, bool, int]:
        first = await mp.send(CLOSED)
        getattr(wechat, refuse)()  # 42001 expired / 40001 not the latest
        second = await mp.send(CLOSED)
        return first.ok, second.ok, mp.tokens.fetches

    assert with_mp(wechat, work) == (True, True, 2)
    sends = wechat.received("/cgi-bin/message/template/send")
    assert [s.query["access_token"] for s in sends] == ["token-1", "token-1", "token-2"]


def test_refusals_and_limits(wechat: WeChatPeer) -> None:
    async def work(mp: OfficialAccountNotifier) -> list[SendResult]:
        unfollowed = Notice(Recipients(("unfollowed_1234",)), "t", "b", template="tmpl")
        two = Notice(Recipients((OPENID, "oOther_123456")), "t", "b", template="tmpl")
        untemplated = Notice(Recipients((OPENID,)), "t", "b")
        wechat.errcodes.append(45009)
        limited = await mp.send(CLOSED)
        return [limited, *[await mp.send(n) for n in (unfollowed, two, untemplated)]]

    limited, unfollowed, two, untemplated = with_mp(wechat, work)
    assert (limited.ok, limited.retryable, limited.errcode) == (False, True, 45009)
    assert (unfollowed.ok, unfollowed.retryable, unfollowed.errcode) == (False, False, 43004)
    assert not two.ok and not two.retryable and not untemplated.ok
    assert len(wechat.received("/cgi-bin/message/template/send")) == 2  # no call for the bad two


def test_a_long_dedupe_key_is_clipped_to_64_bytes(wechat: WeChatPeer) -> None:
    async def work(mp: OfficialAccountNotifier) -> SendResult:
        notice = Notice(CLOSED.to, "t", "b", template="tmpl", dedupe_key="案" * 40)
        return await mp.send(notice)

    assert with_mp(wechat, work).ok  # the peer refuses over 64 bytes
    sent = wechat.received("/cgi-bin/message/template/send")[0].json()
    assert sent["client_msg_id"] == "案" * 21

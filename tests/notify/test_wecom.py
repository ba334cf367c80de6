"""The real WeCom adapter against a local server playing WeCom: wire format, tokens, errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import httpx
import pytest

from cityops.config import Settings
from cityops.notify.base import Notice, Recipients, SendResult
from cityops.notify.wecom import WeComNotifier
from cityops.outbox.runtime import http_client
from tests.http_peer import running
from tests.notify.wechat_peer import AGENT_ID, CORP_ID, CORP_SECRET, WeChatPeer

T = TypeVar("T")
CARD = Notice(
    Recipients(("zhangsan", "lisi"), ("12",)),
    "案件派遣：上水井盖",
    "案件编号：17\n地址：泗泾镇江川北路口",
    "https://cityops.example.gov.cn/cases/17",
)


@pytest.fixture
def wechat() -> Iterator[WeChatPeer]:
    """WeCom on 127.0.0.1 (as a privately deployed 政务微信 would be, at its own base URL)."""
    with running(WeChatPeer()) as peer:
        yield peer


def with_wecom(
    peer: WeChatPeer,
    work: Callable[[WeComNotifier], Awaitable[T]],
    secret: str = CORP_SECRET,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run `work` with an adapter pointed at the peer."""

    async def main() -> T:
        async with httpx.AsyncClient(trust_env=False) as client:
            wecom = WeComNotifier(
                client,
                base_url=peer.base + "/",
                corp_id=CORP_ID,
                secret=secret,
                agent_id=AGENT_ID,
                clock=clock,
            )
            return await work(wecom)

    return asyncio.run(main())


def test_textcard_wire_format_and_cached_token(wechat: WeChatPeer) -> None:
    async def work(wecom: WeComNotifier) -> list[SendResult]:
        return [await wecom.send(CARD), await wecom.send(CARD)]

    results = with_wecom(wechat, work)
    assert [r.ok for r in results] == [True, True] and results[0].message_id == "msg-1"
    calls = [(s.method, s.path) for s in wechat.received()]
    assert calls == [
        ("GET", "/cgi-bin/gettoken"),  # one token for both sends
        ("POST", "/cgi-bin/message/send"),
        ("POST", "/cgi-bin/message/send"),
    ]
    token_call, send = wechat.received()[:2]
    assert token_call.query == {"corpid": CORP_ID, "corpsecret": CORP_SECRET}
    assert send.query == {"access_token": "token-1"}
    assert send.headers["content-type"].startswith("application/json")
    assert send.json() == {
        "touser": "zhangsan|lisi",
        "toparty": "12",
        "agentid": AGENT_ID,
        "msgtype": "textcard",
        "textcard": {
            "title": "案件派遣：上水井盖",
            "description": "案件编号：17\n地址：泗泾镇江川北路口",
            "url": "https://cityops.example.gov.cn/cases/17",
            "btntxt": "详情",
        },
        "safe": 0,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }
    assert "案件派遣".encode() in send.body  # UTF-8 on the wire, not \\u escapes


@pytest.mark.parametrize(("refuse", "errcode"), [("expire_all", 42001), ("forget_all", 40014)])
def test_a_refused_token_is_renewed_once(wechat: WeChatPeer, refuse: str, errcode: int) -> None:
    async def work(wecom: WeComNotifier) -> tuple[SendResult, SendResult, int]:
        first = await wecom.send(CARD)
        getattr(wechat, refuse)()
        second = await wecom.send(CARD)
        return first, second, wecom.tokens.fetches

    first, second, fetches = with_wecom(wechat, work)
    assert first.ok and second.ok and fetches == 2
    sends = wechat.received("/cgi-bin/message/send")
    assert [s.query["access_token"] for s in sends] == ["token-1", "token-1", "token-2"]
    assert [s.json() for s in sends][1:] == [sends[0].json()] * 2  # the same message again
    assert f'"errcode":{errcode}'.encode() not in sends[2].body


def test_the_token_is_renewed_when_expires_in_runs_out(wechat: WeChatPeer) -> None:
    wechat.expires_in = 10  # kept until 9 s, renewed a tenth early
    now = [0.0]

    async def work(wecom: WeComNotifier) -> int:
        await wecom.send(CARD)
        now[0] = 8.9
        await wecom.send(CARD)  # still cached
        now[0] = 9.0
        await wecom.send(CARD)
        return wecom.tokens.fetches

    assert with_wecom(wechat, work, clock=lambda: now[0]) == 2
    assert len(wechat.received("/cgi-bin/gettoken")) == 2


def test_text_without_a_link_and_limits_in_bytes(wechat: WeChatPeer) -> None:
    long = "井盖" * 400  # 2,400 UTF-8 bytes

    async def work(wecom: WeComNotifier) -> list[SendResult]:
        plain = Notice(Recipients(("zhangsan",)), "案件超期", "处置时限已过")
        card = Notice(Recipients(("zhangsan",)), long, long, "https://x.example/1")
        text = Notice(Recipients(("zhangsan",)), long, long)
        return [await wecom.send(n) for n in (plain, card, text)]

    assert all(r.ok for r in with_wecom(wechat, work))  # the peer checks every limit
    plain, card, text = (s.json() for s in wechat.received("/cgi-bin/message/send"))
    assert plain["msgtype"] == "text" and plain["text"] == {"content": "案件超期\n处置时限已过"}
    assert len(card["textcard"]["title"].encode()) == 126  # 42 whole characters of 3 bytes
    assert len(card["textcard"]["description"].encode()) == 510
    assert len(text["text"]["content"].encode()) == 2046


def test_errors_say_whether_to_retry(wechat: WeChatPeer) -> None:
    async def work(wecom: WeComNotifier) -> list[SendResult]:
        results = []
        for code in (81013, -1, 45009):
            wechat.errcodes.append(code)
            results.append(await wecom.send(CARD))
        results.append(await wecom.send(Notice(Recipients(("ghost1", "zhangsan")), "t", "b")))
        results.append(await wecom.send(Notice(Recipients(), "nobody", "b")))
        return results

    all_invalid, busy, limited, partial, nobody = with_wecom(wechat, work)
    assert (all_invalid.ok, all_invalid.retryable, all_invalid.errcode) == (False, False, 81013)
    assert (busy.retryable, busy.errcode, limited.retryable) == (True, -1, True)
    assert partial.ok and partial.rejected == ("ghost1",)
    assert not nobody.ok and not nobody.retryable
    assert len(wechat.received("/cgi-bin/message/send")) == 4  # no call for "nobody"


def test_wrong_secret_and_an_unreachable_server(wechat: WeChatPeer) -> None:
    async def refused(wecom: WeComNotifier) -> SendResult:
        return await wecom.send(CARD)

    wrong = with_wecom(wechat, refused, secret="not-the-secret")
    assert (wrong.ok, wrong.retryable, wrong.errcode) == (False, False, 40001)
    assert "gettoken: errcode 40001" in wrong.error
    wechat.fail_next(1, 502)
    assert with_wecom(wechat, refused).retryable  # a gateway error passes
    wechat.close()
    down = with_wecom(wechat, refused)
    assert (down.ok, down.retryable) == (False, True) and CORP_SECRET not in down.error


def test_secrets_and_tokens_stay_out_of_the_logs(
    wechat: WeChatPeer, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> SendResult:
        client = http_client(Settings(_env_file=None))  # type: ignore[call-arg]
        async with client:
            wecom = WeComNotifier(
                client, base_url=wechat.base, corp_id=CORP_ID, secret=CORP_SECRET, agent_id=AGENT_ID
            )
            return await wecom.send(CARD)

    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpx").setLevel(logging.NOTSET)  # as a careless deployment might
        assert asyncio.run(main()).ok
    assert CORP_SECRET not in caplog.text and "token-1" not in caplog.text

"""WeCom (企业微信, and its private government edition 政务微信) application messages.

Wire calls (developer.work.weixin.qq.com/document/path/91039 and /90236):

* `GET {base}/cgi-bin/gettoken?corpid=…&corpsecret=…` → `{"errcode":0,"access_token":…,
  "expires_in":7200}`; the token is cached until shortly before it expires.
* `POST {base}/cgi-bin/message/send?access_token=…` with `touser` ("a|b"), `toparty` ("1|2"),
  `agentid`, and `msgtype` `textcard` (`title` ≤ 128 bytes, `description` ≤ 512 bytes, `url`,
  `btntxt`) when the notice has a link, else `text` (`content` ≤ 2048 bytes).
  `enable_duplicate_check` makes WeCom drop a resend of the same JSON within the interval, which
  absorbs the outbox's at-least-once resends. Partly unknown recipients come back in
  `invaliduser` / `invalidparty` (the rest still receive it); all unknown is errcode 81013.
* errcode 40014 (invalid token) or 42001 (token expired): fetch a new token and send once more.

政务微信 is deployed inside the government network, so the base URL is a setting
(`CITYOPS_WECOM_BASE_URL`); the public service is `https://qyapi.weixin.qq.com`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from cityops.notify.base import Notice, SendResult, clip_bytes
from cityops.notify.wechat import (
    AccessToken,
    WeChatError,
    call,
    post_with_token,
    token_from,
)

#: Token errors that make the adapter fetch a new token and send once more.
TOKEN_ERRORS = frozenset({40014, 42001})
TITLE_BYTES, DESCRIPTION_BYTES, TEXT_BYTES = 128, 512, 2048
BUTTON_TEXT = "详情"


class WeComNotifier:
    """Send application messages of one WeCom app (agent) to users and departments."""

    channel = "wecom"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: int,
        duplicate_check_seconds: int = 1800,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id = agent_id
        self.duplicate_check_seconds = duplicate_check_seconds
        self.tokens = AccessToken(self._fetch_token, clock)

    async def _fetch_token(self) -> tuple[str, float]:
        answer = await call(
            self.client,
            "GET",
            f"{self.base_url}/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self._secret},
        )
        return token_from(answer, "gettoken")

    def render(self, notice: Notice) -> dict[str, Any]:
        """The JSON body of message/send for a notice."""
        body: dict[str, Any] = {"agentid": self.agent_id, "safe": 0}
        if notice.to.users:
            body["touser"] = "|".join(notice.to.users)
        if notice.to.parties:
            body["toparty"] = "|".join(notice.to.parties)
        if notice.url:
            body["msgtype"] = "textcard"
            body["textcard"] = {
                "title": clip_bytes(notice.title, TITLE_BYTES),
                "description": clip_bytes(notice.body, DESCRIPTION_BYTES),
                "url": notice.url,
                "btntxt": BUTTON_TEXT,
            }
        else:
            body["msgtype"] = "text"
            content = f"{notice.title}\n{notice.body}" if notice.body else notice.title
            body["text"] = {"content": clip_bytes(content, TEXT_BYTES)}
        if self.duplicate_check_seconds > 0:
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = self.duplicate_check_seconds
        return body

    async def send(self, notice: Notice) -> SendResult:
        """Send one notice; a refused token is renewed once."""
        if not notice.to:
            return SendResult(False, False, None, "a WeCom notice needs users or parties")
        body = self.render(notice)

        url = f"{self.base_url}/cgi-bin/message/send"
        try:
            answer = await post_with_token(
                self.client, self.tokens, TOKEN_ERRORS, url, body, "message/send"
            )
        except WeChatError as exc:
            return exc.result()
        rejected = [
            *filter(None, str(answer.get("invaliduser", "")).split("|")),
            *filter(None, str(answer.get("invalidparty", "")).split("|")),
        ]
        return SendResult(True, message_id=str(answer.get("msgid", "")), rejected=tuple(rejected))

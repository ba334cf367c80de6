"""WeChat official account (公众号) template messages to citizens.

Wire calls (developers.weixin.qq.com/doc/service/api/base/api_getaccesstoken.html and
/doc/service/api/notify/template/api_sendtemplatemessage.html):

* `GET {base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…` →
  `{"access_token":…,"expires_in":7200}`. Fetching again replaces the previous token (the old
  one stays valid for five minutes), so every process fetching its own token would keep
  invalidating the others': run the outbox dispatcher that holds MP rows in one process, or
  accept the refresh-on-40001/42001 retry this adapter does.
* `POST {base}/cgi-bin/message/template/send?access_token=…` with `touser` (the openid),
  `template_id`, `url` (optional), `client_msg_id` (dedupe: one message per openid and id
  within ten minutes; at most 64 bytes — the outbox delivery id) and `data`
  (`{"key": {"value": "…"}}`, the keys the chosen template declares).
* errcode 40001 / 40014 (token invalid) or 42001 (expired): a new token, then once more.
  43004 (the user does not follow the account) and 40003 (bad openid) are permanent.
"""

from __future__ import annotations

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

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
CLIENT_MSG_ID_BYTES = 64
VALUE_CHARS = 200  # template values are short; the template's own limits may be lower


class OfficialAccountNotifier:
    """Send template messages of one official account to followers (by openid)."""

    channel = "mp"

    def __init__(
        self, client: httpx.AsyncClient, *, base_url: str, app_id: str, secret: str
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = secret
        self.tokens = AccessToken(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, float]:
        answer = await call(
            self.client,
            "GET",
            f"{self.base_url}/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self._secret,
            },
        )
        return token_from(answer, "token")

    def render(self, notice: Notice, openid: str) -> dict[str, Any]:
        """The JSON body of template/send for a notice to one follower."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": notice.template,
            "data": {key: {"value": value[:VALUE_CHARS]} for key, value in notice.fields.items()},
        }
        if notice.url:
            body["url"] = notice.url
        if notice.dedupe_key:
            body["client_msg_id"] = clip_bytes(notice.dedupe_key, CLIENT_MSG_ID_BYTES)
        return body

    async def send(self, notice: Notice) -> SendResult:
        """Send one template message; a notice names exactly one openid and a template."""
        if len(notice.to.users) != 1 or notice.to.parties or not notice.template:
            return SendResult(
                False, False, None, "a template message needs one openid and a template"
            )
        body = self.render(notice, notice.to.users[0])

        url = f"{self.base_url}/cgi-bin/message/template/send"
        try:
            answer = await post_with_token(
                self.client, self.tokens, TOKEN_ERRORS, url, body, "template/send"
            )
        except WeChatError as exc:
            return exc.result()
        return SendResult(True, message_id=str(answer.get("msgid", "")))

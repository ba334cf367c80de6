"""A local HTTP server that plays WeCom's and the official account's endpoints, and checks them.

It issues access tokens for the right credentials only, refuses expired (42001) and unknown
(40014 on WeCom, 40001 on the official account) tokens, and checks each message body's shape the
way the public API documents it; what it received stays inspectable.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

import orjson

from tests.http_peer import Peer, Reply

CORP_ID, CORP_SECRET, AGENT_ID = "ww0123456789abcdef", "wecom-secret-for-tests", 1000002
APP_ID, APP_SECRET = "wx0123456789abcdef", "mp-secret-for-tests"


def _json(value: dict[str, Any]) -> Reply:
    return 200, orjson.dumps(value)


class WeChatPeer(Peer):
    """WeCom (`/cgi-bin/gettoken`, `/cgi-bin/message/send`) and MP (`/cgi-bin/token`, template)."""

    def __init__(self) -> None:
        super().__init__()
        self.expires_in = 7200
        self.tokens: dict[str, str] = {}  # token → "valid" | "expired"
        self.errcodes: deque[int] = deque()  # scripted errcodes for the next sends
        self._numbers = itertools.count(1)

    def reset(self) -> None:
        """Forget requests, scripts and scripted errcodes (tokens stay issued)."""
        super().reset()
        with self.lock:
            self.errcodes.clear()

    def expire_all(self) -> None:
        """Every token issued so far expires (the next send answers 42001)."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, "expired")

    def forget_all(self) -> None:
        """Every token issued so far becomes unknown (40014 / 40001)."""
        with self.lock:
            self.tokens.clear()

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Route to the endpoint being played."""
        routes = {
            ("GET", "/cgi-bin/gettoken"): self._wecom_token,
            ("GET", "/cgi-bin/token"): self._mp_token,
            ("POST", "/cgi-bin/message/send"): self._wecom_send,
            ("POST", "/cgi-bin/message/template/send"): self._mp_send,
        }
        route = routes.get((method, path))
        if route is None:
            return 404, b"{}"
        return route(query, body)

    def _issue(self) -> Reply:
        token = f"token-{next(self._numbers)}"
        with self.lock:
            self.tokens[token] = "valid"
        return _json(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    def _wecom_token(self, query: dict[str, str], _body: bytes) -> Reply:
        if query.get("corpid") != CORP_ID or query.get("corpsecret") != CORP_SECRET:
            return _json({"errcode": 40001, "errmsg": "invalid credential"})
        return self._issue()

    def _mp_token(self, query: dict[str, str], _body: bytes) -> Reply:
        expected = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
        if query != expected:
            return _json({"errcode": 40013, "errmsg": "invalid appid"})
        status, reply = self._issue()
        answer = orjson.loads(reply)
        del answer["errcode"], answer["errmsg"]  # the official account answers without them
        return status, orjson.dumps(answer)

    def _token_error(self, query: dict[str, str], unknown: int) -> int | None:
        with self.lock:
            state = self.tokens.get(query.get("access_token", ""))
        if state == "expired":
            return 42001
        return None if state == "valid" else unknown

    def _scripted(self) -> int | None:
        with self.lock:
            return self.errcodes.popleft() if self.errcodes else None

    def _wecom_send(self, query: dict[str, str], body: bytes) -> Reply:
        refused = self._token_error(query, 40014)
        if refused is not None:
            return _json({"errcode": refused, "errmsg": "access_token refused"})
        message = orjson.loads(body)
        problem = wecom_problem(message)
        if problem:
            return _json({"errcode": 40008, "errmsg": problem})
        scripted = self._scripted()
        if scripted is not None:
            return _json({"errcode": scripted, "errmsg": "scripted"})
        ghosts = [u for u in str(message.get("touser", "")).split("|") if u.startswith("ghost")]
        return _json(
            {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(ghosts), "msgid": "msg-1"}
        )

    def _mp_send(self, query: dict[str, str], body: bytes) -> Reply:
        refused = self._token_error(query, 40001)
        if refused is not None:
            return _json({"errcode": refused, "errmsg": "access_token refused"})
        message = orjson.loads(body)
        problem = mp_problem(message)
        if problem:
            return _json({"errcode": 47001, "errmsg": problem})
        scripted = self._scripted()
        if scripted is not None:
            return _json({"errcode": scripted, "errmsg": "scripted"})
        if message["touser"].startswith("unfollowed"):
            return _json({"errcode": 43004, "errmsg": "require subscribe"})
        return _json({"errcode": 0, "errmsg": "ok", "msgid": 200228332})


def wecom_problem(message: dict[str, Any]) -> str:
    """What is wrong with a message/send body, by the documented format ("" if nothing)."""
    if not isinstance(message.get("agentid"), int):
        return "agentid must be an integer"
    if not (message.get("touser") or message.get("toparty")):
        return "touser or toparty is required"
    kind = message.get("msgtype")
    if kind == "text":
        content = message.get("text", {}).get("content", "")
        return "" if 0 < len(content.encode()) <= 2048 else "text.content missing or too long"
    if kind == "textcard":
        card = message.get("textcard", {})
        if not (0 < len(card.get("title", "").encode()) <= 128):
            return "textcard.title missing or over 128 bytes"
        if not (0 < len(card.get("description", "").encode()) <= 512):
            return "textcard.description missing or over 512 bytes"
        return (
            "" if str(card.get("url", "")).startswith(("http://", "https://")) else "textcard.url"
        )
    return f"unsupported msgtype {kind!r}"


def mp_problem(message: dict[str, Any]) -> str:
    """What is wrong with a template/send body ("" if nothing)."""
    if not message.get("touser") or not message.get("template_id"):
        return "touser and template_id are required"
    data = message.get("data")
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and set(v) == {"value"} for v in data.values()
    ):
        return 'data must map keys to {"value": …}'
    if len(str(message.get("client_msg_id", "")).encode()) > 64:
        return "client_msg_id over 64 bytes"
    return ""

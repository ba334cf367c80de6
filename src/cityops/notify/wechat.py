"""What WeCom and the official account share: access tokens, JSON calls and error codes.

Both APIs answer HTTP 200 with `{"errcode": 0, "errmsg": "ok", …}`; a non-zero `errcode` is the
failure. Both need an `access_token` query parameter, fetched with the app's secret, valid for
`expires_in` seconds (7200 today), to be cached rather than fetched per call (WeCom: "不能频繁
调用gettoken接口", developer.work.weixin.qq.com/document/path/91039; official account:
developers.weixin.qq.com/doc/service/en/Basic_Information/Get_access_token.html). Either side
may end a token early, so an answer saying the token is invalid or expired makes the adapter
fetch a new one and try once more.

Secrets and tokens travel in query strings, so nothing here logs a URL, and the `httpx` logger
(which logs request URLs at INFO) is held at WARNING by the runtime that builds the adapters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import orjson

from cityops.notify.base import SendResult

#: Answers that may pass on their own: system busy (-1), frequency limits (45009, 45011, 45033).
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45011, 45033})
#: Never cache a token for longer than this share of its lifetime … or closer than 5 min to its end.
_EARLY_SHARE = 0.1
_EARLY_MAX = 300.0


class WeChatError(Exception):
    """A failed call: HTTP trouble, an unreadable answer, or a non-zero errcode."""

    def __init__(self, message: str, *, errcode: int | None = None, retryable: bool) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.retryable = retryable

    def result(self) -> SendResult:
        """The failure as a send result."""
        return SendResult(False, self.retryable, self.errcode, str(self))


def errcode_of(answer: Mapping[str, Any]) -> int:
    """The errcode of an answer; a token answer without one is a success (official account)."""
    value = answer.get("errcode", 0)
    return value if isinstance(value, int) else -1


def raise_for_errcode(
    answer: Mapping[str, Any], what: str, also_retryable: frozenset[int] = frozenset()
) -> None:
    """Raise WeChatError for a non-zero errcode; `also_retryable` adds codes worth a retry."""
    code = errcode_of(answer)
    if code != 0:
        message = str(answer.get("errmsg", ""))[:200]
        raise WeChatError(
            f"{what}: errcode {code} {message}".strip(),
            errcode=code,
            retryable=code in RETRYABLE_ERRCODES or code in also_retryable,
        )


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str],
    body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One JSON call; WeChatError on transport trouble or an answer that is not a JSON object."""
    content = None if body is None else orjson.dumps(body)
    headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else {}
    try:
        reply = await client.request(method, url, params=params, content=content, headers=headers)
    except httpx.TimeoutException as exc:
        raise WeChatError("timed out", retryable=True) from exc
    except httpx.HTTPError as exc:  # the exception text may hold the URL (and its secret)
        raise WeChatError(type(exc).__name__, retryable=True) from exc
    if reply.status_code != 200:
        raise WeChatError(f"HTTP {reply.status_code}", errcode=reply.status_code, retryable=True)
    try:
        answer = orjson.loads(reply.content)
    except orjson.JSONDecodeError as exc:
        raise WeChatError("the answer is not JSON", retryable=True) from exc
    if not isinstance(answer, dict):
        raise WeChatError("the answer is not a JSON object", retryable=True)
    return answer


TokenFetch = Callable[[], Awaitable[tuple[str, float]]]


class AccessToken:
    """An access token cached until shortly before `expires_in`; one fetch at a time."""

    def __init__(self, fetch: TokenFetch, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many tokens were fetched (tests and metrics)

    async def get(self) -> str:
        """A valid token, fetched when none is cached or the cached one is about to expire."""
        if self._token is not None and self._clock() < self._until:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._until:
                await self._renew()
            assert self._token is not None
            return self._token

    async def refresh(self, stale: str) -> str:
        """A new token after `stale` was refused; a concurrent refresh is reused, not repeated."""
        async with self._lock:
            if self._token is None or self._token == stale:
                await self._renew()
            assert self._token is not None
            return self._token

    async def _renew(self) -> None:
        token, expires_in = await self._fetch()
        self.fetches += 1
        early = min(expires_in * _EARLY_SHARE, _EARLY_MAX)
        self._token, self._until = token, self._clock() + max(expires_in - early, 0.0)


def token_from(answer: Mapping[str, Any], what: str) -> tuple[str, float]:
    """The token and lifetime of a token answer, or WeChatError."""
    raise_for_errcode(answer, what)
    token, expires_in = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
        raise WeChatError(f"{what}: no access_token in the answer", retryable=True)
    return token, float(expires_in)


async def post_with_token(
    client: httpx.AsyncClient,
    tokens: AccessToken,
    token_errors: frozenset[int],
    url: str,
    body: Mapping[str, Any],
    what: str,
) -> dict[str, Any]:
    """POST JSON with the cached token (a fresh one after a token error); WeChatError on errcode."""
    # A token refused even when fresh is the platform's trouble: raised as worth a later try.

    async def post(token: str) -> dict[str, Any]:
        return await call(client, "POST", url, params={"access_token": token}, body=body)

    token = await tokens.get()
    answer = await post(token)
    if errcode_of(answer) in token_errors:
        answer = await post(await tokens.refresh(token))
    raise_for_errcode(answer, what, token_errors)
    return answer

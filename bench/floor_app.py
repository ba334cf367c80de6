"""The floor of bench_foundation: a bare FastAPI app answering with cityops's own JSON.

It serves the bodies cityops returned for the benchmarked requests (captured by
bench_foundation.py into a JSON file), with no auth, no database and no middleware:

* org reads return the captured dict from a plain ``@app.get``; the return annotation gives
  FastAPI its fast path (Pydantic validates the dict and dumps it in Rust). An unannotated
  dict would go through ``jsonable_encoder`` instead, which is ~30x slower for the
  42-community page and would make the floor slower than cityops;
* ``POST /api/v1/auth/login`` does the one piece of work every login must do, one Argon2id
  verify with argon2-cffi's ``PasswordHasher()`` defaults (the parameters cityops uses), then
  returns the captured login JSON and the same session cookie;
* ``POST /api/v1/auth/login-json`` is the same without the hash: the pure-JSON login floor.

Run by bench_foundation.py as ``python bench/floor_app.py --port N --bodies FILE`` with the
uvicorn settings of ``cityops serve`` (one worker, auto loop/http, proxy headers, info log).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

SESSION_COOKIE = "cityops_session"


class LoginBody(BaseModel):
    """The same request shape and limits as cityops's LoginRequest."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def create_floor_app(bodies: dict[str, Any]) -> FastAPI:
    """A bare app whose endpoints return the captured cityops bodies."""
    children: dict[str, dict[str, Any]] = bodies["children"]
    units: dict[str, dict[str, Any]] = bodies["units"]
    login_body: dict[str, Any] = bodies["login"]
    username: str = bodies["login_username"]
    hasher = PasswordHasher()  # the argon2-cffi defaults, as src/cityops/auth/passwords.py
    stored_hash = hasher.hash(bodies["login_password"])
    token: str = login_body["access_token"]
    max_age: int = login_body["expires_in"]

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/org/{code}/children")
    async def org_children(code: str) -> dict[str, Any]:
        return children[code]

    @app.get("/api/v1/org/{code}")
    async def org_unit(code: str) -> dict[str, Any]:
        return units[code]

    def _answer(response: Response) -> dict[str, Any]:
        response.set_cookie(
            SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", path="/"
        )
        return login_body

    @app.post("/api/v1/auth/login")
    async def login(body: LoginBody, response: Response) -> dict[str, Any]:
        # cityops verifies in the handler too (blocking the loop for the hash's duration).
        try:
            valid = hasher.verify(stored_hash, body.password) and body.username == username
        except (VerificationError, InvalidHashError):
            valid = False
        if not valid:
            raise HTTPException(401, "Wrong username or password.")
        return _answer(response)

    @app.post("/api/v1/auth/login-json")
    async def login_json(body: LoginBody, response: Response) -> dict[str, Any]:
        if body.username != username:
            raise HTTPException(401, "Wrong username or password.")
        return _answer(response)

    return app


def main() -> None:
    """Serve the floor with the uvicorn settings `cityops serve` uses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="JSON captured from cityops")
    args = parser.parse_args()
    app = create_floor_app(json.loads(args.bodies.read_text("utf-8")))
    # Same as cityops.cli.serve: one worker, loop/http "auto" (uvloop/httptools when present).
    uvicorn.run(
        app, host=args.host, port=args.port, workers=1, proxy_headers=True, log_level="info"
    )


if __name__ == "__main__":
    main()

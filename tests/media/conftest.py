"""Fixtures of the photo tests: an app per backend whose photos go to a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cityops.app import create_app
from tests.conftest import Backend, Login

PHOTOS = "/api/v1/media/photos"


@dataclass
class Media:
    """The client, the logins and where the photos are stored."""

    client: TestClient
    login: Login
    root: Path

    def upload(
        self, who: str, data: bytes, name: str = "photo.jpg", kind: str = "image/jpeg"
    ) -> dict[str, Any]:
        """Upload and insist on success; the reply's JSON."""
        reply = self.post(who, data, name, kind)
        assert reply.status_code in (200, 201), reply.text
        body: dict[str, Any] = reply.json()
        return body

    def post(
        self, who: str, data: bytes, name: str = "photo.jpg", kind: str = "image/jpeg"
    ) -> httpx.Response:
        """POST one file as `file`."""
        return self.client.post(
            PHOTOS, files={"file": (name, data, kind)}, headers=self.login.headers(who)
        )


@pytest.fixture(scope="session")
def media(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Media]:
    """An app on the backend storing photos under a fresh folder."""
    root = tmp_path_factory.mktemp(f"media-{backend.name}")
    settings = backend.settings.model_copy(update={"media_dir": root})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Media(client, Login(client), root)

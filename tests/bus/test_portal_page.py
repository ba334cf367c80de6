"""/ops/bus: the platform operator's page of the bus, in-process and on the real NATS server."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.kit.jetstream import Names
from tests.conftest import PASSWORD, Backend
from tests.portal import login_form


def test_the_page_is_for_district_wide_operators_only(backend: Backend) -> None:
    with TestClient(create_app(backend.settings), follow_redirects=False) as client:
        assert client.get("/ops/bus").status_code == 303  # to log in
        login_form.login(client, "t_sijing_admin", PASSWORD)  # outbox.manage, but one town
        assert client.get("/ops/bus").status_code == 403
        login_form.login(client, "t_sijing", PASSWORD)
        assert client.get("/ops/bus").status_code == 403
        login_form.login(client, "t_admin", PASSWORD)
        page = client.get("/ops/bus")
    assert page.status_code == 200
    assert "进程内" in page.text and 'data-connected="yes"' in page.text
    assert 'href="/ops/bus"' in page.text  # in the navigation


def test_on_nats_the_page_lists_every_subscriber_with_its_lag(
    backend: Backend, nats_url: str, names: Names
) -> None:
    settings = backend.settings.model_copy(
        update={"bus_url": nats_url, "bus_prefix": names.prefix, "scheduler": False}
    )
    with TestClient(create_app(settings), follow_redirects=False) as on_nats:
        login_form.login(on_nats, "t_admin", PASSWORD)
        page = on_nats.get("/ops/bus")
        health = on_nats.get("/api/v1/bus/health").json()
    assert page.status_code == 200
    assert "NATS JetStream" in page.text and 'data-connected="yes"' in page.text
    assert health["connected"] is True and health["dead_letters"] == 0
    names_on_page = re.findall(r'<tr><td class="code">([^<]+)</td>', page.text)
    consumers = {c["name"] for c in health["consumers"]}
    # The cases module opens cases from IoT, AI, video and command events: four subscribers.
    assert len([c for c in consumers if c.startswith("cases-")]) == 4, consumers
    assert set(names_on_page) == consumers

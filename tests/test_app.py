"""The application shell: health, readiness, problem type pages and the self-hosted API docs."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from cityops.app import create_app
from tests.conftest import Backend


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["org_units"] > 2000


def test_api_docs_load_only_bundled_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "cityops"


def test_every_problem_type_has_a_page(client: TestClient) -> None:
    reply = client.get("/problems/out-of-scope")
    assert reply.status_code == 200
    assert "data scope" in reply.text
    missing = client.get("/problems/no-such-problem")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_start_up_freezes_the_heap_it_built(backend: Backend) -> None:
    # Long-lived start-up objects leave the collector's scans (cityops.app.freeze_startup_heap).
    gc.unfreeze()  # whatever earlier tests' apps froze goes back in sight
    assert gc.get_freeze_count() == 0
    app = create_app(backend.settings)
    with TestClient(app) as started:
        assert started.get("/healthz").status_code == 200
        assert gc.get_freeze_count() > 0
        built = app.state.org_tree  # made during start-up
        # Frozen objects sit in the permanent generation, outside every generation listed here.
        assert all(o is not built for o in gc.get_objects())

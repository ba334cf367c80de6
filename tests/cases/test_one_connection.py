"""A case request holds one pooled connection at a time: none is taken while its write is open.

On SQLite, a request holding the write lock that waits for a second connection — while the
pool is taken by requests waiting for that very lock — stalls every writer until the busy
timeout and fails them with 500s (bench/bench_cases.py found it with 32 clients). Refreshing
the org tree after the write did this; the tree is now read before it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.geo.service import DivisionIndexCache
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.org.tree import OrgTreeCache
from tests.cases.conftest import CASES, Places
from tests.conftest import Backend, Login


def test_intake_and_actions_run_on_a_pool_of_one_connection(
    backend: Backend, login: Login, places: Places
) -> None:
    settings = backend.settings.model_copy(update={"scheduler": False})
    app = create_app(settings)
    headers = login.headers("t_duty")
    with TestClient(app, raise_server_exceptions=False) as client:
        # One connection (a wait for a second one would time out: 30 s, room for a busy machine)
        # and a tree that re-reads the database each time.
        engine = create_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=30)
        sessions = create_sessionmaker(engine)
        app.state.sessions = sessions
        env = app.state.cases
        env.sessions = sessions
        env.tree = OrgTreeCache(sessions, check_seconds=0)
        env.index = DivisionIndexCache(sessions, env.tree, settings.district_code)
        try:
            lon, lat = places["310117102002"]
            body = {
                "source": "grid",
                "category": "component:0101",
                "text": "一个连接",
                "location": {"lon": lon, "lat": lat},
            }
            opened = client.post(CASES, json=body, headers=headers)
            assert opened.status_code == 201, opened.text
            case_id = opened.json()["id"]
            for action in ("register", "dispatch"):
                moved = client.post(f"{CASES}/{case_id}/actions/{action}", headers=headers)
                assert moved.status_code == 200, moved.text
            assert moved.json()["status"] == "dispatched"
        finally:
            client.portal.call(engine.dispose)  # type: ignore[union-attr]

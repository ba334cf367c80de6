"""A capability added only through its manifest: served, migrated and subscribed, nothing else edited.

The plug-in `tinyapp` is written to a temporary folder as an installed distribution would be
(a package and a `.dist-info` naming its manifest in the `cityops.modules` entry-point group).
cityops's app, CLI and migrations environment find it by themselves: a router, a table with
its own migration branch, a bus subscription, a map layer and an overview part.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from cityops.app import create_app
from cityops.config import Settings
from cityops.geo.layers import registry
from cityops.iot import SceneEvent
from cityops.kit.module import Module, enabled_modules, in_dependency_order, installed_modules, load
from cityops.overview import providers

#: A point in 松江 新城 (WGS84), inside the district on any boundary set.
SONGJIANG_CENTRE = (121.2235, 31.0322)

PLUGIN = {
    "tinyapp/__init__.py": '"""A tiny plug-in capability, for the tests only."""\n',
    "tinyapp/module.py": """
        from cityops.kit.module import Module, Subscription

        module = Module(
            name="tinyapp",
            title="测试插件（仅测试用）",
            requires=("cases",),
            routers=("tinyapp.api:router",),
            tables=("tinyapp.models",),
            migrations="tinyapp.versions",
            subscriptions=(Subscription("cityops.cases:CaseCreated", "tinyapp.listen:handler_for"),),
            map_layers=("tinyapp.layer:LAYER",),
            overview_parts=("tinyapp.part:PART",),
        )
    """,
    "tinyapp/models.py": """
        from sqlalchemy.orm import Mapped, mapped_column

        from cityops.kit.db import Base


        class TinyHeard(Base):
            __tablename__ = "tiny_heard"
            id: Mapped[int] = mapped_column(primary_key=True)
            case_id: Mapped[int]
    """,
    "tinyapp/versions/__init__.py": "",
    "tinyapp/versions/tiny0001_heard.py": """
        import sqlalchemy as sa
        from alembic import op

        revision = "tiny0001"
        down_revision = None
        branch_labels = ("tinyapp",)
        depends_on = None


        def upgrade() -> None:
            op.create_table(
                "tiny_heard",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("case_id", sa.Integer, nullable=False),
            )


        def downgrade() -> None:
            op.drop_table("tiny_heard")
    """,
    "tinyapp/api.py": """
        from fastapi import APIRouter
        from sqlalchemy import func, select

        from cityops.kit.web import DbSession
        from tinyapp.models import TinyHeard

        router = APIRouter(prefix="/api/v1/tiny", tags=["tiny"])


        @router.get("/heard")
        async def heard(session: DbSession) -> dict[str, list[int]]:
            rows = await session.scalars(select(TinyHeard.case_id).order_by(TinyHeard.id))
            return {"cases": list(rows)}
    """,
    "tinyapp/listen.py": """
        from cityops.cases import CaseCreated
        from cityops.kit.db import unit_of_work
        from tinyapp.models import TinyHeard


        def handler_for(app):
            async def heard(event: CaseCreated) -> None:
                async with unit_of_work(app.state.sessions) as session:
                    session.add(TinyHeard(case_id=event.id))

            return heard
    """,
    "tinyapp/layer.py": """
        from cityops.geo.layers import BaseLayer


        class TinyLayer(BaseLayer):
            name = "tiny"
            title = "测试图层"


        LAYER = TinyLayer()
    """,
    "tinyapp/part.py": """
        class TinyPart:
            part = "video"
            module = "测试插件"

            async def data(self, area):
                return {"tiles": [{"label": "测试", "value": len(area.code), "unit": "位"}]}


        PART = TinyPart()
    """,
    "tinyapp-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinyapp\nVersion: 0.1\n",
    "tinyapp-0.1.dist-info/entry_points.txt": "[cityops.modules]\ntinyapp = tinyapp.module:module\n",
}


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[Path]:
    """The plug-in installed on sys.path for this test, and gone afterwards."""
    root = tmp_path / "site"
    for name, body in PLUGIN.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    installed_modules.cache_clear()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "tinyapp" or m.startswith("tinyapp.")]:
            del sys.modules[name]
        registry.unregister("tiny")
        providers.unregister("video")
        installed_modules.cache_clear()
        # Its table stays on the shared metadata otherwise, and other tests compare schemas.
        from cityops.kit.db import Base

        if "tiny_heard" in Base.metadata.tables:
            Base.metadata.remove(Base.metadata.tables["tiny_heard"])


def _cityops(root: Path, database_url: str, *args: str) -> str:
    """Run the real `cityops` console script with the plug-in installed beside it."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        "CITYOPS_DATABASE_URL": database_url,
    }
    script = Path(sys.executable).parent / "cityops"
    done = subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_module_plugs_in_through_its_manifest_alone(plugin: Path, tmp_path: Path) -> None:
    assert "tinyapp" in [m.name for m in enabled_modules()]
    url = f"sqlite+aiosqlite:///{tmp_path / 'plug.db'}"
    # Migrated: `cityops migrate` runs the plug-in's own branch beside the shipped one.
    _cityops(plugin, url, "migrate")
    _cityops(plugin, url, "seed")
    tables = _tables(url)
    assert {"tiny_heard", "case_record"} <= tables
    settings = Settings(  # type: ignore[call-arg]
        database_url=url, principal_cache_seconds=0, outbox_dispatcher=False, _env_file=None
    )
    with TestClient(create_app(settings)) as client:
        # Served: the router answers; the layer and the overview part are in place.
        assert client.get("/api/v1/tiny/heard").json() == {"cases": []}
        assert registry.get("tiny") is not None
        assert providers.provider_of("video") is not None
        # Subscribed: a sensor's scene event opens a case through cases' own subscription, and
        # the case's CaseCreated reaches the plug-in's handler, which writes to its table.
        scene = SceneEvent(
            owner_code="310117",
            key=f"tiny-{uuid.uuid4().hex[:8]}",
            occurred_at=datetime(2026, 7, 1, 2, 0, tzinfo=UTC),
            category="event:0102",
            lon=SONGJIANG_CENTRE[0],
            lat=SONGJIANG_CENTRE[1],
            text="测试：物联场景事件",
        )
        client.portal.call(client.app.state.bus.publish, scene)  # type: ignore[attr-defined]
        heard = client.get("/api/v1/tiny/heard").json()["cases"]
        assert len(heard) == 1
        overview = client.app.state  # type: ignore[attr-defined]
        assert overview.bus.subscribers("case.created") == 2  # the overview's and the plug-in's


def _tables(url: str) -> set[str]:
    import asyncio

    async def names() -> set[str]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            await conn.execute(text("SELECT 1"))
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_modules_start_after_what_they_require() -> None:
    first = Module(name="b", title="b", requires=("a",))
    second = Module(name="a", title="a")
    assert [m.name for m in in_dependency_order([first, second])] == ["a", "b"]


def test_every_reference_in_the_shipped_manifests_loads() -> None:
    for module in installed_modules():
        for field in ("routers", "tables", "map_layers", "overview_parts", "scheduler_jobs"):
            for ref in getattr(module, field):
                if field == "tables":
                    importlib.import_module(ref)
                else:
                    assert load(ref) is not None, ref
        for hook in (module.setup, module.start, module.stop):
            if hook:
                assert callable(load(hook)), hook


def test_a_switched_off_requirement_is_refused() -> None:
    from cityops.kit.module import ModuleError

    with pytest.raises(ModuleError, match="requires"):
        enabled_modules({"cases"})
    assert "simulate" not in [m.name for m in enabled_modules({"simulate"})]

"""The real `cityops` console script in subprocesses against a temporary SQLite database."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from cityops.app import create_app
from cityops.config import Settings
from cityops.kit.migrate import alembic_config, module_versions, upgrade
from tests.real_server import free_port, wait_ready

CITYOPS = shutil.which("cityops", path=str(Path(sys.executable).parent)) or "cityops"


def cityops_env(database: Path) -> dict[str, str]:
    """The process environment with only our database configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
    env["CITYOPS_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    return env


def cityops(
    database: Path, *args: str, stdin: str = "", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the console script in a temporary folder, so no stray .env is read."""
    return subprocess.run(
        [CITYOPS, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=cityops_env(database),
        cwd=database.parent.parent,
        timeout=timeout,
        check=False,
    )


def query(database: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read the database with the standard library."""
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the CLI keeps the database: `migrate` creates the missing `var` folder itself."""
    return tmp_path_factory.mktemp("cli") / "var" / "cityops.db"


@dataclass(frozen=True)
class Prepared:
    """What migrate, seed and seed again printed, and the unit count after each seed."""

    migrate: subprocess.CompletedProcess[str]
    seed: subprocess.CompletedProcess[str]
    seed_again: subprocess.CompletedProcess[str]
    units: tuple[int, int]


def _units(database: Path) -> int:
    return int(str(query(database, "SELECT count(*) FROM org_unit")[0][0]))


@pytest.fixture(scope="module")
def prepared(database: Path) -> Prepared:
    """Run migrate, seed and seed again once for the module."""
    migrate = cityops(database, "migrate")
    seed = cityops(database, "seed")
    first = _units(database)
    seed_again = cityops(database, "seed")
    return Prepared(migrate, seed, seed_again, (first, _units(database)))


def test_migrate_creates_the_schema(database: Path, prepared: Prepared) -> None:
    migrate = prepared.migrate
    assert migrate.returncode == 0, migrate.stderr
    assert migrate.stdout.strip().startswith("created the schema (revision ")  # a fresh file
    tables = {
        row[0] for row in query(database, "SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {
        "org_unit",
        "account",
        "auth_token",
        "audit_log",
        "department",
        "alembic_version",
    } <= tables
    again = cityops(database, "migrate")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "schema is up to date"


def test_seed_loads_songjiang_and_is_idempotent(database: Path, prepared: Prepared) -> None:
    first, second = prepared.seed, prepared.seed_again
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.startswith("seeded 310117 (2023): 20 units, 386 communities, ")
    new_grids = int(first.stdout.split("communities, ")[1].split(" ")[0])
    assert 386 * 3 <= new_grids <= 386 * 7
    assert "169 departments" in first.stdout
    assert second.stdout.startswith(
        "seeded 310117 (2023): 20 units, 386 communities, 0 new synthetic grids"
    )
    assert prepared.units[0] == prepared.units[1] == _units(database)
    levels = dict(query(database, "SELECT level, count(*) FROM org_unit GROUP BY level"))  # type: ignore[arg-type]
    assert levels["district"] == 1
    assert levels["grid"] == new_grids
    assert sum(levels[lv] for lv in ("street", "town", "zone")) == 20
    assert query(database, "SELECT count(*) FROM department")[0][0] == 169
    assert query(database, "SELECT count(*) FROM division_release")[0][0] == 1
    assert (
        query(
            database,
            "SELECT count(*) FROM org_unit WHERE parent_code = '310117102' AND level != 'multigrid'",
        )[0][0]
        == 42
    )
    assert (
        query(
            database,
            "SELECT count(*) FROM org_unit WHERE parent_code = '310117103' AND level != 'multigrid'",
        )[0][0]
        == 27
    )


def test_user_create_reads_the_password_from_stdin(database: Path, prepared: Prepared) -> None:
    created = cityops(
        database,
        "user",
        "create",
        "alice",
        "--role",
        "town_operator",
        "--org",
        "310117102",
        "--name",
        "爱丽丝",
        stdin="Wonder-Land-42x\n",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created alice (town_operator at 310117102)"
    [(role, org, name, must_change, hashed)] = query(
        database,
        "SELECT role, org_code, display_name, must_change_password, password_hash FROM account WHERE username = ?",
        "alice",
    )
    assert (role, org, name, must_change) == ("town_operator", "310117102", "爱丽丝", 0)
    assert str(hashed).startswith("$argon2id$") and "Wonder-Land-42x" not in str(hashed)
    [(actor, target, result)] = query(
        database, "SELECT actor, target, result FROM audit_log WHERE action = 'account.create'"
    )
    assert (actor, target, result) == ("cli", "alice", "success")

    # The account works in the application.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}", _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as client:
        reply = client.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "Wonder-Land-42x"}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["must_change_password"] is False
        token = reply.json()["access_token"]
        children = client.get(
            "/api/v1/org/310117102/children", headers={"Authorization": f"Bearer {token}"}
        )
        assert children.json()["total"] == 42


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["bob", "--role", "town_operator", "--org", "310117102"],
            "weak\n",
            "at least 10 characters",
        ),
        (
            ["bob", "--role", "town_operator", "--org", "310117102"],
            "bob-Passw0rd!!\n",
            "must not contain the username",
        ),
        (
            ["bob", "--role", "town_operator", "--org", "310117999"],
            "Bob-Passw0rd!x\n",
            "org unit 310117999 does not exist",
        ),
    ],
)
def test_user_create_refuses_with_exit_code_2(
    database: Path,
    prepared: Prepared,
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    refused = cityops(database, "user", "create", *args, stdin=stdin)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert refused.stderr.startswith("refused: ")
    assert message in refused.stderr
    assert query(database, "SELECT count(*) FROM account WHERE username = 'bob'")[0][0] == 0


def test_user_create_refuses_a_taken_username(database: Path, prepared: Prepared) -> None:
    args = ["user", "create", "dave", "--role", "leader", "--org", "310117"]
    assert cityops(database, *args, stdin="Blue-Harbour-77\n").returncode == 0
    taken = cityops(database, *args, stdin="Green-Valley-88\n")
    assert taken.returncode == 2
    assert taken.stderr.strip() == "refused: username dave is taken"
    assert query(database, "SELECT count(*) FROM account WHERE username = 'dave'")[0][0] == 1


def test_user_create_with_an_unknown_role_is_a_usage_error(
    database: Path, prepared: Prepared
) -> None:
    wrong = cityops(database, "user", "create", "carol", "--role", "emperor", "--org", "310117")
    assert wrong.returncode == 2
    assert "emperor" in wrong.stderr
    assert query(database, "SELECT count(*) FROM account WHERE username = 'carol'")[0][0] == 0


def test_org_import_divisions_refuses_a_malformed_file(
    database: Path, prepared: Prepared, tmp_path: Path
) -> None:
    streets = tmp_path / "streets.csv"
    villages = tmp_path / "villages.csv"
    streets.write_text("code,name,parent_code\n31011800X,测试街道,310118\n", "utf-8")
    villages.write_text("code,name,parent_code\n", "utf-8")
    refused = cityops(
        database,
        "org",
        "import-divisions",
        "--district",
        "310118",
        "--year",
        "2023",
        "--streets",
        str(streets),
        "--villages",
        str(villages),
        "--name",
        "测试区",
        "--source",
        "test data",
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == "refused: streets.csv:2: code '31011800X' is not 9 digits"
    assert query(database, "SELECT count(*) FROM org_unit WHERE code LIKE '310118%'")[0][0] == 0


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux /proc)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_stopped_with_sigterm_stops_its_simulator(database: Path, prepared: Prepared) -> None:
    """`docker stop`, systemd and kill send SIGTERM: the live feed must not outlive the server."""
    port = free_port()
    demo = subprocess.Popen(
        [CITYOPS, "demo", "--port", str(port), "--simulate-rate", "0.05"],
        env=cityops_env(database),
        cwd=database.parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    feed: list[int] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}", demo, timeout=120)
        feed = _children(demo.pid)
        # The two live feeds: simulated cases and simulated sensors (iot).
        assert len(feed) == 2 and all(_alive(pid) for pid in feed)
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 128 + signal.SIGTERM
        assert not any(_alive(pid) for pid in feed)  # stopped and reaped, not orphaned
    finally:
        for pid in [*feed, demo.pid]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_migrate_upgrades_a_database_in_use_without_losing_rows(tmp_path: Path) -> None:
    """Later revisions rebuild tables on SQLite; rows and their references must survive."""
    database = tmp_path / "var" / "old.db"
    database.parent.mkdir()
    upgrade(f"sqlite+aiosqlite:///{database}", "0001")
    stamp = "2024-01-01 00:00:00.000000"
    with sqlite3.connect(database) as conn:
        conn.executemany(
            "INSERT INTO org_unit (code, name, level, parent_code, in_guideline_18, synthetic,"
            " source, updated_at) VALUES (?, ?, ?, ?, 0, 0, '', ?)",
            [
                ("310117", "松江区", "district", None, stamp),
                ("310117102", "泗泾镇", "town", "310117", stamp),
                ("310117102001", "张泾社区居委会", "residents_committee", "310117102", stamp),
                ("310117102001001", "张泾第1网格", "grid", "310117102001", stamp),
            ],
        )
        conn.execute(
            "INSERT INTO department (org_code, key, name, synthetic, source)"
            " VALUES ('310117102', 'cgzf', '城管执法中队', 1, '')"
        )
        conn.execute(
            "INSERT INTO account (username, display_name, role, org_code, extra_scope, active,"
            " must_change_password, failed_logins, created_at, updated_at)"
            " VALUES ('erin', 'erin', 'town_operator', '310117102', '[]', 1, 0, 0, ?, ?)",
            (stamp, stamp),
        )
    migrated = cityops(database, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    # The shipped chain and each module's own branch (auth's) each have a head.
    config = alembic_config("sqlite://", module_versions())
    heads = sorted((head,) for head in ScriptDirectory.from_config(config).get_heads())
    assert len(heads) >= 2
    assert sorted(query(database, "SELECT version_num FROM alembic_version")) == heads
    assert [row[0] for row in query(database, "SELECT code FROM org_unit ORDER BY code")] == [
        "310117",
        "310117102",
        "310117102001",
        "310117102001001",
    ]
    assert query(database, "SELECT org_code FROM department") == [("310117102",)]
    assert query(database, "SELECT username, org_code FROM account") == [("erin", "310117102")]
    assert query(database, "PRAGMA foreign_key_check") == []


REQUIRED = {
    "",
    "migrate",
    "seed",
    "serve",
    "demo",
    "user",
    "user create",
    "org",
    "org import-divisions",
    "org import-grids",
}


def all_commands() -> list[list[str]]:
    """Every command and command group of the `cityops` app, found by walking it."""
    import typer

    from cityops.cli import app

    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_has_help(tmp_path: Path) -> None:
    database = tmp_path / "unused.db"
    env = cityops_env(database)
    # Started together: each process spends most of its time importing.
    processes = {
        " ".join(command): subprocess.Popen(
            [CITYOPS, *command, "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for command in all_commands()
    }
    assert set(processes) >= REQUIRED
    for name, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (name, err)
        assert out.lstrip().startswith("Usage: cityops"), (name, out)
        assert f"cityops {name}".strip() in " ".join(out.split()), (name, out)
    assert not database.exists()  # --help touches no database

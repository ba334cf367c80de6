"""Benchmark the foundation: org-tree reads and logins against a bare-FastAPI floor.

For each workload cityops and a bare FastAPI app returning the very same JSON bytes (the
framework's floor, bench/floor_app.py) are loaded in turn by wrk with the same connections,
alternating cityops, floor, cityops, floor so drift cancels; the median of the rounds is
reported with the ratio cityops/floor. The goal is a ratio of at least 0.5.

    .venv/bin/python bench/bench_foundation.py [--duration 10] [--connections 50]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench]

Without --database-url cityops runs on SQLite in a temporary directory. With a PostgreSQL URL
the named database is created (it must not exist) and dropped afterwards. Everything listens
on and talks to 127.0.0.1 only. Results go to bench/results/foundation-<backend>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WRK_DIR = BENCH_DIR / "wrk"
HOST = "127.0.0.1"
GOAL = 0.5
DISTRICT = "310117"
WRK_INSTALL_HINT = (
    "wrk is not installed. It is the load generator of this benchmark:\n"
    "  Debian/Ubuntu: sudo apt-get install -y wrk\n"
    "  macOS:         brew install wrk\n"
    "then run this script again."
)


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Reply:
    """One HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def call(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(
            resp.status,
            {k.lower(): v for k, v in resp.getheaders()},
            data,
            time.perf_counter() - started,
        )
    finally:
        conn.close()


class Server:
    """A server subprocess on a free port of 127.0.0.1, its output kept in a log file."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.log = cwd / f"{name}.log"
        self.argv = [*argv, "--host", HOST, "--port", str(self.port)]
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def wait_ready(self, path: str, timeout: float = 90.0) -> None:
        """Poll `path` until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}")
            with suppress(OSError):
                if call(self.port, "GET", path, timeout=5).status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def settle(self, path: str, timeout: float = 60.0) -> None:
        """Wait until requests that wrk left behind are done (the server answers at once)."""
        deadline = time.monotonic() + timeout
        quick = 0
        while time.monotonic() < deadline and quick < 2:
            try:
                quick = quick + 1 if call(self.port, "GET", path, timeout=60).seconds < 0.05 else 0
            except OSError:
                quick = 0
            time.sleep(0.3)

    def tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        self._out.flush()
        text = self.log.read_text("utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_summary(self) -> dict[str, Any]:
        """Statuses of the access log and the errors the server logged, by message."""
        text = self.log.read_text("utf-8", errors="replace")
        statuses = Counter(re.findall(r'" (\d{3}) ', text))
        errors = Counter(
            line[:160] for line in re.findall(r"^(?:\w+\.)*\w*(?:Error|Exception): .*$", text, re.M)
        )
        return {
            "statuses": dict(sorted(statuses.items())),
            # one per request that failed with an exception, whether or not its client waited
            "unhandled_exceptions": text.count("Exception in ASGI application"),
            "error_messages": [message for message, _ in errors.most_common(3)],
        }

    def stop(self) -> None:
        """Stop gracefully (SIGINT, as Ctrl-C), then kill if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()


# ---------------------------------------------------------------------------- wrk


@dataclass
class WrkRun:
    """What one wrk run measured."""

    requests_per_s: float
    p50_ms: float | None  # None when no request completed
    p99_ms: float | None
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]
    seconds: float


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str, seconds: float) -> WrkRun:
    """Requests/s, p50 and p99 (from --latency), errors of a wrk report."""
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    total = re.search(r"^\s+(\d+) requests in", output, re.M)
    if rps is None or p50 is None or p99 is None or total is None:
        raise RuntimeError(f"could not read wrk's report:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
        if sock
        else {}
    )
    return WrkRun(
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)) if int(total.group(1)) else None,
        p99_ms=_ms(p99.group(1)) if int(total.group(1)) else None,
        requests=int(total.group(1)),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=errors,
        seconds=seconds,
    )


def run_wrk(
    wrk: str, port: int, path: str, script: str, args: list[str], *, seconds: float, opts: Any
) -> WrkRun:
    """One wrk run against 127.0.0.1:port/path."""
    return run_wrk_report(wrk, port, path, script, args, seconds=seconds, opts=opts)[0]


def run_wrk_report(
    wrk: str, port: int, path: str, script: str, args: list[str], *, seconds: float, opts: Any
) -> tuple[WrkRun, str]:
    """One wrk run against 127.0.0.1:port/path: its figures and its report (script output)."""
    argv = [
        wrk,
        f"-t{opts.threads}",
        f"-c{opts.connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "60s",
        "--latency",
        "-s",
        str(WRK_DIR / script),
        f"http://{HOST}:{port}{path}",
        "--",
        *args,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 90, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout, seconds), done.stdout


# ---------------------------------------------------------------------------- databases


@dataclass
class Database:
    """The database cityops runs on for this benchmark."""

    backend: str
    url: str
    shown: str


def _pg_admin_args(url: str) -> tuple[dict[str, Any], str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.host not in (None, "127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing a non-local database host {parsed.host!r}: traffic stays local")
    name = parsed.database or ""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SystemExit(f"database name {name!r}: use lower-case letters, digits and _")
    connect = {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.host or HOST,
        "port": parsed.port or 5432,
        "database": "postgres",
    }
    return connect, name


async def _pg_admin(url: str, create: bool) -> None:
    """Create the benchmark's database (refusing an existing one), or drop it."""
    import asyncpg  # type: ignore[import-untyped]

    connect, name = _pg_admin_args(url)
    conn = await asyncpg.connect(**connect)
    try:
        if not create:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            raise SystemExit(
                f"database {name!r} already exists; give a fresh name (it is dropped afterwards)"
            )
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[Database]:
    """SQLite in the temporary directory, or a fresh PostgreSQL database dropped afterwards."""
    if url is None:
        path = workdir / "var" / "bench.db"
        yield Database("sqlite", f"sqlite+aiosqlite:///{path}", f"sqlite (file in {workdir})")
        return
    if not url.startswith("postgresql+asyncpg://"):
        raise SystemExit("--database-url must be postgresql+asyncpg://user@127.0.0.1:5432/name")
    from sqlalchemy.engine import make_url

    asyncio.run(_pg_admin(url, create=True))
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"created database {shown}")
    try:
        yield Database("postgresql", url, shown)
    finally:
        asyncio.run(_pg_admin(url, create=False))
        print(f"dropped database {shown}")


# ---------------------------------------------------------------------------- workloads


@dataclass
class Target:
    """One server's side of a workload."""

    label: str
    server: str  # "cityops" or "floor"
    path: str
    script: str
    args: list[str]


@dataclass
class Workload:
    """A request, measured on cityops and on its floor(s)."""

    key: str
    title: str
    method: str
    path: str
    user: str
    targets: list[Target]
    runs: dict[str, list[WrkRun]] = field(default_factory=dict)


@dataclass
class Summary:
    """Medians over the rounds of one target."""

    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summarise(runs: list[WrkRun]) -> Summary:
    """The median of each figure over the rounds (latencies of runs that completed requests)."""
    return Summary(
        statistics.median(r.requests_per_s for r in runs),
        _median([r.p50_ms for r in runs]),
        _median([r.p99_ms for r in runs]),
    )


def _ms_text(value: float | None, width: int = 8) -> str:
    return f"{value:>{width}.2f}" if value is not None else f"{'-':>{width}}"


def credentials(workdir: Path) -> dict[str, str]:
    """username → password from var/demo-credentials.txt."""
    lines = (workdir / "var" / "demo-credentials.txt").read_text("utf-8").splitlines()
    return {line.split("\t")[0]: line.split("\t")[1] for line in lines if "\t" in line}


def login_body(username: str, password: str) -> bytes:
    """The JSON body of a login."""
    return json.dumps({"username": username, "password": password}).encode()


def capture(port: int, passwords: dict[str, str]) -> tuple[dict[str, Any], dict[str, str], bytes]:
    """Log in as the bench users and record cityops's answers for the floor to replay."""
    tokens: dict[str, str] = {}
    login_reply: Reply | None = None
    for user in ("duty", "sijing"):
        reply = call(
            port,
            "POST",
            "/api/v1/auth/login",
            body=login_body(user, passwords[user]),
            headers={"Content-Type": "application/json"},
        )
        if reply.status != 200:
            raise RuntimeError(f"login as {user}: {reply.status} {reply.body[:300]!r}")
        tokens[user] = json.loads(reply.body)["access_token"]
        if user == "duty":
            login_reply = reply
    assert login_reply is not None

    def get(path: str, user: str) -> Any:
        reply = call(port, "GET", path, headers={"Authorization": f"Bearer {tokens[user]}"})
        if reply.status != 200:
            raise RuntimeError(f"GET {path} as {user}: {reply.status} {reply.body[:300]!r}")
        return json.loads(reply.body)

    bodies = {
        "children": {
            DISTRICT: get(f"/api/v1/org/{DISTRICT}/children", "duty"),
            "310117102": get("/api/v1/org/310117102/children", "sijing"),
        },
        "units": {"310117102001": get("/api/v1/org/310117102001", "sijing")},
        "login": json.loads(login_reply.body),
        "login_username": "duty",
        "login_password": passwords["duty"],
    }
    return bodies, tokens, login_reply.body


def check_floor_matches(city_port: int, floor_port: int, workloads: list[Workload]) -> None:
    """The floor must answer with the bytes cityops answers (except login's fresh token)."""
    for w in workloads:
        if w.method != "GET":
            continue
        city = next(t for t in w.targets if t.server == "cityops")
        floor = next(t for t in w.targets if t.server == "floor")
        a = call(city_port, "GET", w.path, headers={"Authorization": f"Bearer {city.args[0]}"})
        b = call(floor_port, "GET", floor.path)
        if (a.status, a.body, a.headers["content-type"]) != (
            b.status,
            b.body,
            b.headers["content-type"],
        ):
            raise RuntimeError(f"floor answer differs from cityops for {w.path}")


def check_floor_login(floor_port: int, expected: bytes, body: bytes) -> None:
    """The floor's login answers are the captured cityops login JSON, byte for byte."""
    for path in ("/api/v1/auth/login", "/api/v1/auth/login-json"):
        reply = call(
            floor_port, "POST", path, body=body, headers={"Content-Type": "application/json"}
        )
        if reply.status != 200 or reply.body != expected:
            raise RuntimeError(f"floor {path}: {reply.status} {reply.body[:200]!r}")


def build_workloads(tokens: dict[str, str], passwords: dict[str, str]) -> list[Workload]:
    """The four workloads of the issue, each with its floor target(s)."""

    def read(key: str, title: str, path: str, user: str) -> Workload:
        return Workload(
            key,
            title,
            "GET",
            path,
            user,
            [
                Target("cityops", "cityops", path, "get_bearer.lua", [tokens[user]]),
                Target("floor", "floor", path, "get_bearer.lua", [""]),
            ],
        )

    body = login_body("duty", passwords["duty"]).decode()
    return [
        read("district_children", "district children", f"/api/v1/org/{DISTRICT}/children", "duty"),
        read("town_children", "town children (42)", "/api/v1/org/310117102/children", "sijing"),
        read("unit", "single unit", "/api/v1/org/310117102001", "sijing"),
        Workload(
            "login",
            "login",
            "POST",
            "/api/v1/auth/login",
            "duty",
            [
                Target("cityops", "cityops", "/api/v1/auth/login", "login.lua", [body]),
                Target("floor", "floor", "/api/v1/auth/login", "login.lua", [body]),
                Target("floor_json", "floor", "/api/v1/auth/login-json", "login.lua", [body]),
            ],
        ),
    ]


# ---------------------------------------------------------------------------- report


def loop_and_http() -> tuple[str, str]:
    """What uvicorn's "auto" picks here (uvicorn/loops/auto.py, protocols/http/auto.py)."""
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    try:
        import httptools  # noqa: F401

        http_impl = "httptools"
    except ImportError:
        http_impl = "h11"
    return loop, http_impl


def _mark(ratio: float) -> str:
    return "PASS" if ratio >= GOAL else "BELOW"


def render(
    workloads: list[Workload], db: Database, opts: Any, load: dict[str, float]
) -> tuple[str, list[dict[str, Any]]]:
    """The table and the per-workload records for the JSON file."""
    head = (
        f"{'workload':<26} {'cityops req/s':>13} {'p50 ms':>8} {'p99 ms':>8}   "
        f"{'floor req/s':>11} {'p50 ms':>8} {'p99 ms':>8}   {'ratio':>6}  goal>={GOAL}"
    )
    lines = [head, "-" * len(head)]
    records: list[dict[str, Any]] = []
    for w in workloads:
        city = summarise(w.runs["cityops"])
        record: dict[str, Any] = {
            "workload": w.key,
            "method": w.method,
            "path": w.path,
            "user": w.user,
            "cityops": {"median": asdict(city), "runs": [asdict(r) for r in w.runs["cityops"]]},
        }
        for target in w.targets[1:]:
            floor = summarise(w.runs[target.label])
            ratio = city.requests_per_s / floor.requests_per_s if floor.requests_per_s else 0.0
            if target.label == "floor" and w.key == "login":
                title, mark = "login (floor: 1 Argon2id)", _mark(ratio)
            elif target.label == "floor_json":
                title, mark = "login vs pure-JSON floor", "info"
            else:
                title, mark = w.title, _mark(ratio)
            lines.append(
                f"{title:<26} {city.requests_per_s:>13.1f} {_ms_text(city.p50_ms)} "
                f"{_ms_text(city.p99_ms)}   {floor.requests_per_s:>11.1f} "
                f"{_ms_text(floor.p50_ms)} {_ms_text(floor.p99_ms)}   {ratio:>6.3f}  {mark}"
            )
            record[target.label] = {
                "path": target.path,
                "median": asdict(floor),
                "runs": [asdict(r) for r in w.runs[target.label]],
            }
            record[f"ratio_{target.label}"] = round(ratio, 4)
            if mark != "info":
                record["meets_goal"] = ratio >= GOAL
        records.append(record)
    loop, http_impl = loop_and_http()
    notes = [
        f"backend: {db.shown}; {opts.rounds} rounds of {opts.duration:g}s per target "
        f"({opts.login_duration:g}s for logins), alternating cityops/floor; medians shown; "
        f"wrk -t{opts.threads} -c{opts.connections}.",
        f"Both servers: uvicorn {version('uvicorn')}, 1 worker, loop={loop}, http={http_impl}, "
        "proxy headers, access log on (to a file).",
        f"wrk and the server under test share this machine's {os.cpu_count()} CPU cores; the "
        "other server idles meanwhile. Read the ratios, not the absolute figures. "
        f"1-minute load average at start {load['start']:.1f}, at end {load['end']:.1f}.",
        "The login floor does one Argon2id verify (argon2-cffi PasswordHasher() defaults, as "
        "cityops) and returns the captured login JSON; cityops also writes a session row and an "
        "audit row and updates the account per login. The floor verifies on the event loop "
        "(a bare endpoint's way); cityops verifies in a two-thread executor, so its ratio can "
        "exceed 1 on two cores: that is the executor's gain, not a cheaper hash.",
        "'login vs pure-JSON floor' compares with the same floor minus the hash: shown for "
        "scale, not held to the goal.",
    ]
    return "\n".join([*lines, "", *(f"* {n}" for n in notes)]), records


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="cityops org-tree reads and logins vs a bare-FastAPI floor (wrk)."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--login-duration",
        type=float,
        default=None,
        help="seconds per login run (default: --duration); with the hash on the event loop "
        "cityops answers 50 queued logins in a burst after ~50 hashes, so short runs see few",
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="runs per target; median shown")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per target")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql+asyncpg://user@127.0.0.1:5432/NEWDB (created, then dropped); "
        "default: SQLite in a temporary directory",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    opts = parser.parse_args(argv)
    if opts.login_duration is None:
        opts.login_duration = opts.duration
    if not (
        1
        <= min(opts.duration, opts.login_duration)
        <= max(opts.duration, opts.login_duration)
        <= 120
    ):
        parser.error("keep --duration and --login-duration in 1..120 seconds")
    if not (1 <= opts.rounds <= 5 and 0 <= opts.warmup <= 30):
        parser.error("keep --rounds in 1..5 and --warmup in 0..30")
    if not (1 <= opts.connections <= 1000 and 1 <= opts.threads <= opts.connections):
        parser.error("--connections in 1..1000 and --threads in 1..connections")
    return opts


def source_state() -> dict[str, Any]:
    """The commit measured and whether the working tree differs from it (read-only git)."""
    root = BENCH_DIR.parent
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # status must not even refresh the index
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"commit": commit, "uncommitted_changes": bool(dirty)}


def cityops_command() -> str:
    """The `cityops` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("cityops")
    found = str(beside) if beside.exists() else shutil.which("cityops")
    if found is None:
        raise SystemExit("the cityops command is not installed (pip install -e .)")
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every workload meets the goal, 1 otherwise."""
    opts = parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_INSTALL_HINT, file=sys.stderr)
        return 2
    started = time.monotonic()
    load = {"start": os.getloadavg()[0]}
    workdir = Path(tempfile.mkdtemp(prefix="cityops-bench-"))
    servers: list[Server] = []
    try:
        with database(opts.database_url, workdir) as db:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOPS_")}
            env["CITYOPS_DATABASE_URL"] = db.url
            cityops = cityops_command()
            print(f"preparing cityops on {db.shown} (cityops demo --no-serve) …", flush=True)
            demo = subprocess.run(
                [cityops, "demo", "--no-serve"],
                cwd=workdir,
                env=env,
                timeout=600,
                capture_output=True,
                text=True,
                check=False,
            )
            if demo.returncode != 0:
                raise RuntimeError(f"cityops demo --no-serve failed:\n{demo.stderr[-3000:]}")
            passwords = credentials(workdir)
            city = Server("cityops", [cityops, "serve"], workdir, env)
            servers.append(city)
            city.wait_ready("/readyz")
            captured, tokens, login_bytes = capture(city.port, passwords)
            bodies_file = workdir / "floor-bodies.json"
            bodies_file.write_text(json.dumps(captured, ensure_ascii=False), "utf-8")
            floor = Server(
                "floor",
                [sys.executable, str(BENCH_DIR / "floor_app.py"), "--bodies", str(bodies_file)],
                workdir,
                env,
            )
            servers.append(floor)
            floor.wait_ready("/healthz")
            workloads = build_workloads(tokens, passwords)
            check_floor_matches(city.port, floor.port, workloads)
            check_floor_login(floor.port, login_bytes, login_body("duty", passwords["duty"]))
            towns = captured["children"]["310117102"]["total"]
            print(
                f"floor answers are byte-identical to cityops's; town page has {towns} units.\n"
                f"cityops on :{city.port}, floor on :{floor.port}; "
                f"{opts.rounds} rounds x {opts.duration:g}s per target "
                f"({opts.login_duration:g}s for logins).",
                flush=True,
            )
            ports = {"cityops": city, "floor": floor}
            probe = {"cityops": "/healthz", "floor": "/healthz"}

            def measure(target: Target, seconds: float) -> WrkRun:
                server = ports[target.server]
                args = (wrk, server.port, target.path, target.script, target.args)
                run = run_wrk(*args, seconds=seconds, opts=opts)
                server.settle(probe[target.server])
                return run

            if opts.warmup:  # logins need none: they are primed above, the hash dominates
                for w in workloads:
                    for target in w.targets if w.method == "GET" else ():
                        measure(target, opts.warmup)
            for rnd in range(1, opts.rounds + 1):
                for w in workloads:
                    for target in w.targets:
                        seconds = opts.duration if w.method == "GET" else opts.login_duration
                        run = measure(target, seconds)
                        w.runs.setdefault(target.label, []).append(run)
                        flaw = "  NO REQUEST COMPLETED" if run.requests == 0 else ""
                        if run.non_2xx or any(run.socket_errors.values()):
                            flaw = f"  non-2xx={run.non_2xx} socket errors={run.socket_errors}"
                        print(
                            f"  round {rnd} {w.key:<18} {target.label:<10} "
                            f"{run.requests_per_s:>9.1f} req/s  p50 {_ms_text(run.p50_ms)} ms  "
                            f"p99 {_ms_text(run.p99_ms)} ms{flaw}",
                            flush=True,
                        )
            for server in reversed(servers):
                server.stop()
            servers.clear()
            logs = {"cityops": city.log_summary(), "floor": floor.log_summary()}
            load["end"] = os.getloadavg()[0]
            table, records = render(workloads, db, opts, load)
            print(f"\ncityops foundation benchmark ({db.backend})\n")
            print(table)
            for name, summary in logs.items():
                line = f"* {name} log: responses by status {summary['statuses']}"
                if summary["unhandled_exceptions"]:
                    line += (
                        f"; {summary['unhandled_exceptions']} requests failed with an exception "
                        f"(500, or dropped when the client had gone), e.g. "
                        f"{summary['error_messages'][0]!r}"
                    )
                print(line)
            RESULTS_DIR.mkdir(exist_ok=True)
            out = RESULTS_DIR / f"foundation-{db.backend}.json"
            loop, http_impl = loop_and_http()
            result = {
                "benchmark": "foundation",
                "backend": db.backend,
                "database": db.shown,
                "finished_at": datetime.now(UTC).isoformat(),
                "goal_ratio": GOAL,
                "settings": {
                    "duration_s": opts.duration,
                    "login_duration_s": opts.login_duration,
                    "connections": opts.connections,
                    "wrk_threads": opts.threads,
                    "rounds": opts.rounds,
                    "warmup_s": opts.warmup,
                },
                "machine": {
                    "cpu_count": os.cpu_count(),
                    "load_average_1min": load,
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "note": "wrk and the server under test share the CPU cores",
                },
                "stack": {
                    name: version(name)
                    for name in ("fastapi", "starlette", "pydantic", "uvicorn", "argon2-cffi")
                }
                | {"loop": loop, "http": http_impl, "workers": 1},
                "source": source_state(),
                "server_logs": logs,
                "workloads": records,
                "all_meet_goal": all(r.get("meets_goal", True) for r in records),
                "elapsed_s": round(time.monotonic() - started, 1),
            }
            out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
            print(f"\nresults: {out}   ({result['elapsed_s']:.0f}s)")
            return 0 if result["all_meet_goal"] else 1
    finally:
        for server in reversed(servers):
            server.stop()
        if opts.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Who used the CPU during a load run: the load generator, the server, PostgreSQL, the rest.

Read from /proc (Linux): the machine's busy time from /proc/stat, each process's user+system
time from /proc/<pid>/stat. wrk's time comes from getrusage(RUSAGE_CHILDREN) once it has been
waited for. Shares are of the whole machine (all cores over the wall time of the run).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def machine_busy() -> float:
    """CPU seconds the machine has been busy since boot (all cores; not idle, not iowait)."""
    fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICK


def _stats() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds) of every process we can read."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        rest = text[text.rindex(")") + 2 :].split()
        yield int(entry.name), int(rest[1]), name, (int(rest[11]) + int(rest[12])) / TICK


def _tree(root: int) -> dict[int, float]:
    """CPU seconds of a process's direct children (with their own descendants), by child.

    A server without worker processes counts as its own single child.
    """
    stats = list(_stats())
    children: dict[int, list[int]] = {}
    for pid, ppid, _, _ in stats:
        children.setdefault(ppid, []).append(pid)
    seconds = {pid: cpu for pid, _, _, cpu in stats}

    def total(pid: int) -> float:
        return seconds.get(pid, 0.0) + sum(total(c) for c in children.get(pid, []))

    kids = children.get(root, [])
    if not kids:
        return {root: seconds.get(root, 0.0)}
    return {kid: total(kid) for kid in kids} | {root: seconds.get(root, 0.0)}


def tree_seconds(root: int) -> float:
    """CPU seconds of a process and all its descendants alive now (a server and its workers)."""
    return sum(_tree(root).values())


def pid_seconds(pids: set[int]) -> dict[int, float]:
    """CPU seconds of each of these processes that is still alive, by pid."""
    return {pid: cpu for pid, _, _, cpu in _stats() if pid in pids}


def grown(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at the second one.

    A process that exited meanwhile is not counted (its time is gone from /proc); one that
    started meanwhile counts whole.
    """
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def waited_children_seconds() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuShare:
    """Shares of the machine's CPU capacity (cores x wall time) during one run."""

    wall_s: float
    cores: int
    busy: float  # everything
    load_generator: float  # wrk
    server: float  # cityops and its workers
    postgres: float  # the benchmark database's backends and the server's background processes
    seconds: dict[str, float]  # the same as CPU seconds: load_generator, server, postgres
    worker_split: list[float]  # each server process's part of the server's CPU, largest first

    @property
    def other(self) -> float:
        """The rest: other users of the machine, the kernel, this script."""
        return max(0.0, self.busy - self.load_generator - self.server - self.postgres)


def _split(by_process: dict[int, float], root: int, total: float) -> list[float]:
    """Each worker process's part of the server's CPU time, largest first (idle ones left out)."""
    workers = {pid: cpu for pid, cpu in by_process.items() if pid != root} or by_process
    parts = (round(cpu / total, 2) for cpu in workers.values()) if total > 0 else iter(())
    return sorted((p for p in parts if p > 0.01), reverse=True)


class CpuMeter:
    """Take readings before and after a run of a child load generator.

    `database_pids` names the database server's processes that work for the benchmark (on
    PostgreSQL: the backends connected to its database and the shared background processes),
    so that other databases on the same server are not counted.
    """

    def __init__(self, server_pid: int, database_pids: Callable[[], set[int]] | None) -> None:
        self.server_pid = server_pid
        self.database_pids = database_pids
        self.cores = os.cpu_count() or 1
        self.start = self._read()

    def _read(self) -> tuple[float, float, float, dict[int, float], dict[int, float]]:
        return (
            time.perf_counter(),
            machine_busy(),
            waited_children_seconds(),
            _tree(self.server_pid),
            pid_seconds(self.database_pids()) if self.database_pids else {},
        )

    def stop(self) -> CpuShare:
        """The shares since the meter was made (call after the load generator was waited for)."""
        end = self._read()
        wall, busy, gen = (b - a for a, b in zip(self.start[:3], end[:3], strict=True))
        by_process = {pid: cpu - self.start[3].get(pid, 0.0) for pid, cpu in end[3].items()}
        server = sum(by_process.values())
        pg = grown(self.start[4], end[4])
        capacity = wall * self.cores
        return CpuShare(
            wall_s=round(wall, 2),
            cores=self.cores,
            busy=round(busy / capacity, 3),
            load_generator=round(gen / capacity, 3),
            server=round(server / capacity, 3),
            postgres=round(pg / capacity, 3),
            seconds={
                "load_generator": round(gen, 3),
                "server": round(server, 3),
                "postgres": round(pg, 3),
            },
            worker_split=_split(by_process, self.server_pid, server),
        )


def wait_quiet(root: int, timeout: float = 60.0, step: float = 0.5) -> None:
    """Wait until a server tree uses under a tenth of a core (requests a client left behind)."""
    deadline = time.monotonic() + timeout
    last = tree_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(step)
        now = tree_seconds(root)
        if now - last < 0.1 * step:
            return
        last = now

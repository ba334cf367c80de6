"""The anchor: SpiffWorkflow running the same main line (bench/mainline.bpmn) for the same cases.

Two ways, both measured:

* in memory — the BPMN file is parsed once; per case one `BpmnWorkflow` is instantiated and
  its engine steps run up to the first user task; then each ready user task gets the step's
  data and is run, in order, until the workflow completes. Nothing is stored: a crash or a
  restart loses every case, and no other process can see them.
* persisted — the same, with the workflow's state kept where a service keeps it: serialised
  with SpiffWorkflow's own `BpmnWorkflowSerializer` (JSON) into one row per case of a simple
  table in the same database, one committed transaction per step. Each step reads the row
  (locked on PostgreSQL), deserialises, runs the task, serialises and writes the row back,
  as a stateless web worker must. No timeline, timers, routing, scope or audit: a state blob.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cases_engine import Phase, clock, count_statements, since, timed
from cases_workload import MAIN_LINE, Report
from cityops.kit.db import create_engine

BPMN_FILE = Path(__file__).resolve().parent / "mainline.bpmn"
PROCESS_ID = "case_mainline"

metadata = MetaData()
#: One row per case: the serialised workflow and the user task it waits for.
spiff_case = Table(
    "bench_spiff_case",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_key", String(128), nullable=False, unique=True),
    Column("waiting_for", String(32)),
    Column("state", Text, nullable=False),
)


@dataclass
class SpiffResult:
    """Creation and transition throughput of one SpiffWorkflow run."""

    mode: str  # "memory" or "persisted:<backend>"
    created: Phase
    transitions: Phase
    state_bytes: int  # size of one serialised workflow (persisted mode)


def load_spec() -> Any:
    """Parse and validate the BPMN file once."""
    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(BPMN_FILE))
    return parser.get_spec(PROCESS_ID)


def start(spec: Any, report: Report) -> Any:
    """A new workflow for a case, run up to its first user task."""
    workflow = BpmnWorkflow(spec)
    workflow.data["source_key"] = report.source_key
    workflow.do_engine_steps()
    return workflow


def complete(workflow: Any, action: str, body: dict[str, str]) -> None:
    """Run the ready user task, which must be `action`, with the step's data."""
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    if task is None or task.task_spec.name != action:
        found = task.task_spec.name if task is not None else None
        raise RuntimeError(f"SpiffWorkflow is at {found!r}, expected {action!r}")
    task.data.update(body, action=action)
    task.run()
    workflow.do_engine_steps()


def waiting_for(workflow: Any) -> str | None:
    """The name of the user task a workflow waits for (None when complete)."""
    task = workflow.get_next_task(state=TaskState.READY, manual=True)
    return str(task.task_spec.name) if task is not None else None


def run_memory(batch: list[Report], warmup: list[Report]) -> SpiffResult:
    """Spiff in memory: instantiate every workflow, then run each through the main line."""
    spec = load_spec()
    for report in warmup:
        workflow = start(spec, report)
        for action, body in MAIN_LINE:
            complete(workflow, action, body)
    started = clock()
    workflows = [start(spec, report) for report in batch]
    created = since(started, len(batch))
    started = clock()
    for workflow in workflows:
        for action, body in MAIN_LINE:
            complete(workflow, action, body)
        if not workflow.is_completed():
            raise RuntimeError("SpiffWorkflow did not complete the main line")
    moved = since(started, len(batch) * len(MAIN_LINE))
    return SpiffResult("memory", created, moved, 0)


class SpiffStore:
    """Spiff workflows serialised into `bench_spiff_case`, one transaction per step."""

    def __init__(self, url: str) -> None:
        self.engine: AsyncEngine = create_engine(url)
        self.statements = count_statements(self.engine)
        self.lock = not url.startswith("sqlite")  # SQLite has no row locks: it locks the file
        self.spec = load_spec()
        self.serializer = BpmnWorkflowSerializer()

    async def create_table(self) -> None:
        """(Re)create the table, empty."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)

    async def drop_table(self) -> None:
        """Remove the table."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)

    async def open(self, report: Report) -> int:
        """Instantiate a case's workflow and store it; its row id."""
        workflow = start(self.spec, report)
        row = {
            "source_key": report.source_key,
            "waiting_for": waiting_for(workflow),
            "state": self.serializer.serialize_json(workflow),
        }
        async with self.engine.begin() as conn:
            result = await conn.execute(insert(spiff_case).values(row).returning(spiff_case.c.id))
            return int(result.scalar_one())

    async def act(self, case_id: int, action: str, body: dict[str, str]) -> None:
        """Load a case's workflow, run one user task, store it back."""
        query = select(spiff_case.c.state).where(spiff_case.c.id == case_id)
        if self.lock:
            query = query.with_for_update()
        async with self.engine.begin() as conn:
            state = (await conn.execute(query)).scalar_one()
            workflow = self.serializer.deserialize_json(state)
            complete(workflow, action, body)
            changes = {
                "waiting_for": waiting_for(workflow),
                "state": self.serializer.serialize_json(workflow),
            }
            await conn.execute(update(spiff_case).where(spiff_case.c.id == case_id).values(changes))

    async def main_line(self, case_id: int) -> None:
        """Drive one stored case through the main line."""
        for action, body in MAIN_LINE:
            await self.act(case_id, action, body)

    async def state_size(self, case_id: int) -> int:
        """Bytes of one stored workflow."""
        async with self.engine.connect() as conn:
            query = select(spiff_case.c.state).where(spiff_case.c.id == case_id)
            return len((await conn.execute(query)).scalar_one().encode())


async def run_persisted(
    url: str, backend: str, batch: list[Report], warmup: list[Report], concurrency: int
) -> SpiffResult:
    """Spiff persisted per step: open every case, then drive each through the main line."""
    store = SpiffStore(url)
    try:
        await store.create_table()
        for report in warmup:
            await store.main_line(await store.open(report))
        ids: list[int] = []

        async def open_one(report: Report) -> None:
            ids.append(await store.open(report))

        created = await timed(batch, concurrency, open_one, len(batch), store.statements)
        size = await store.state_size(ids[0])
        steps = len(ids) * len(MAIN_LINE)
        moved = await timed(ids, concurrency, store.main_line, steps, store.statements)
        return SpiffResult(f"persisted:{backend}", created, moved, size)
    finally:
        await store.drop_table()
        await store.engine.dispose()

"""HTTP endpoints of the org tree under /api/v1/org: reads within the scope, grid imports."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile
from pydantic import BaseModel

from cityops.auth import audit
from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.errors import NotFound, OutOfScope, ProblemError
from cityops.kit.web import ClientIp, DbSession
from cityops.org.divisions import DivisionDataError
from cityops.org.models import OrgLevel
from cityops.org.repository import OrgRepository
from cityops.org.schemas import (
    LEVEL_LABELS,
    DepartmentRead,
    DivisionReleaseRead,
    GridImportResult,
    OrgChildren,
    OrgCodePath,
    OrgRef,
    OrgSearchResult,
    OrgUnitRead,
)
from cityops.org.service import import_grids, parse_grid_file
from cityops.org.tree import OrgNode, OrgTree, OrgTreeCache

router = APIRouter(prefix="/api/v1/org", tags=["org"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
MAX_GRID_FILE = 20 * 1024 * 1024
#: The grid import takes a file larger than the platform's default body limit.
BODY_LIMITS = {"/api/v1/org/grids/import": MAX_GRID_FILE + 64 * 1024}
TREE_LEVELS = [lv for lv in OrgLevel if lv != OrgLevel.MULTIGRID]
MAX_CACHED_PAGES = 1024  # rendered children pages kept per snapshot (scope × unit × page)


async def _tree(request: Request) -> OrgTree:
    """The current snapshot; awaited in the endpoints rather than injected, one dependency less."""
    cache: OrgTreeCache = request.app.state.org_tree
    return await cache.current()


def _read(tree: OrgTree, node: OrgNode) -> OrgUnitRead:
    """The API view of a unit; it depends on the snapshot only, so it is built once per tree."""
    key = ("read", node.code)
    read: OrgUnitRead | None = tree.memo.get(key)
    if read is None:
        read = tree.memo[key] = _build_read(tree, node)
    return read


def _build_read(tree: OrgTree, node: OrgNode) -> OrgUnitRead:
    return OrgUnitRead(
        code=node.code,
        name=node.name,
        level=node.level,
        level_label=LEVEL_LABELS.get(node.level, node.level),
        parent_code=node.parent_code,
        multigrid_code=node.multigrid_code,
        in_guideline_18=node.in_guideline_18,
        synthetic=node.synthetic,
        division_year=node.division_year,
        has_geometry=node.has_geometry,
        child_count=tree.child_count(node.code),
        path=[OrgRef(code=p.code, name=p.name, level=p.level) for p in tree.path(node.code)],
    )


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _dump(model: BaseModel) -> bytes:
    """What FastAPI sends for a `response_model`: the model dumped by alias."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def _cached_json(
    tree: OrgTree,
    kind: str,
    key: Hashable,
    build: Callable[[], BaseModel],
    limit: int | None = None,
) -> Response:
    """The JSON of a model built from the snapshot alone, rendered once per tree.

    The answer is byte for byte what returning the model would send; hot reads skip building
    and serialising it. `limit` bounds a cache whose keys callers choose, oldest dropped first.
    """
    cache: dict[Hashable, bytes] = tree.memo.setdefault(kind, {})
    body = cache.get(key)
    if body is None:
        body = _dump(build())
        if limit is not None and len(cache) >= limit:
            del cache[next(iter(cache))]
        cache[key] = body
    return _json(body)


def _visible(tree: OrgTree, principal: Principal, code: str) -> OrgNode:
    """The node if the caller may see it: inside the scope, or an ancestor on its path."""
    node = tree.get(code)
    if node is None:
        raise NotFound("org unit", code)
    if not (principal.scope.allows(code) or principal.scope.covers_ancestor(code)):
        raise OutOfScope(code)
    return node


@router.get("", response_model=OrgSearchResult, summary="Search units by name")
async def search_units(
    principal: Reader,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=64, description="Part of a name")],
    under: Annotated[str, Query(pattern=r"^[0-9A-Z]{0,24}$")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrgSearchResult:
    """Units inside your scope whose name contains `q`, optionally under a code."""
    tree = await _tree(request)
    hits = tree.search(q, principal.scope, under=under, limit=limit)
    return OrgSearchResult(items=[_read(tree, n) for n in hits], total=len(hits))


@router.get("/releases", response_model=list[DivisionReleaseRead], summary="Division years")
async def list_releases(
    principal: Reader, session: DbSession, request: Request
) -> list[DivisionReleaseRead]:
    """The years of official division codes imported for this district."""
    district = request.app.state.settings.district_code
    rows = await OrgRepository(session).releases(district)
    return [DivisionReleaseRead.model_validate(r) for r in rows]


@router.get("/{code}", response_model=OrgUnitRead, summary="One unit")
async def get_unit(code: OrgCodePath, principal: Reader, request: Request) -> Response:
    """One unit with its path; ancestors of your scope are readable, siblings are not."""
    tree = await _tree(request)
    node = _visible(tree, principal, code)
    return _cached_json(tree, "unit-json", node.code, lambda: _read(tree, node))


@router.get("/{code}/children", response_model=OrgChildren, summary="Children of a unit")
async def list_children(
    code: OrgCodePath,
    principal: Reader,
    request: Request,
    q: Annotated[str, Query(max_length=64, description="Part of a name")] = "",
    level: Annotated[list[OrgLevel] | None, Query(description="Only these levels")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The children you may see. Multi-grid units (an overlay) appear only with level=multigrid."""
    tree = await _tree(request)
    node = _visible(tree, principal, code)
    levels = [lv.value for lv in (level or TREE_LEVELS)]

    def build() -> OrgChildren:
        children = tree.children(code, principal.scope, levels=levels, q=q)
        page = children[offset : offset + limit]
        return OrgChildren(
            parent=_read(tree, node),
            items=[_read(tree, n) for n in page],
            total=len(children),
            limit=limit,
            offset=offset,
        )

    if q:  # searches vary too much to be worth keeping
        return _json(_dump(build()))
    key = (code, principal.scope.prefixes, frozenset(levels), limit, offset)
    return _cached_json(tree, "children-json", key, build, limit=MAX_CACHED_PAGES)


@router.get("/{code}/departments", response_model=list[DepartmentRead], summary="Departments")
async def list_departments(
    code: OrgCodePath, principal: Reader, request: Request, session: DbSession
) -> list[DepartmentRead]:
    """Functional departments (职能部门) owned by a unit."""
    _visible(await _tree(request), principal, code)
    rows = await OrgRepository(session).departments(principal.scope, org_code=code)
    return [DepartmentRead.model_validate(r) for r in rows]


@router.post("/grids/import", response_model=GridImportResult, summary="Import real grids")
async def import_grid_file(
    request: Request,
    file: UploadFile,
    session: DbSession,
    ip: ClientIp,
    principal: Annotated[Principal, Depends(require(Perm.ORG_IMPORT))],
) -> GridImportResult:
    """Import grids from CSV or GeoJSON; each covered community loses its synthetic grids."""
    content = await file.read(MAX_GRID_FILE + 1)
    if len(content) > MAX_GRID_FILE:
        raise ProblemError(
            413, "body-too-large", f"grid files are limited to {MAX_GRID_FILE} bytes"
        )
    filename = file.filename or "grids.csv"
    label = filename.replace("\x00", "")[:128]  # the audit target holds 128 characters, no NUL
    try:
        rows = parse_grid_file(filename, content)
    except (DivisionDataError, UnicodeDecodeError) as exc:
        raise ProblemError(422, "validation", str(exc)) from exc
    outside = sorted({r.parent_code for r in rows if not principal.scope.allows(r.parent_code)})
    if outside:
        raise OutOfScope(outside[0])
    try:
        count = await import_grids(session, rows, source=f"imported from {label}")
    except DivisionDataError as exc:
        raise ProblemError(422, "validation", str(exc)) from exc
    await audit.record(
        session,
        action="org.import_grids",
        result="success",
        actor=principal,
        target=label,
        client_ip=ip,
        detail={"grids": count},
    )
    request.app.state.org_tree.invalidate()
    return GridImportResult(imported=count, communities=len({r.parent_code for r in rows}))

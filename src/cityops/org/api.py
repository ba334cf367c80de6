"""HTTP endpoints of the org tree under /api/v1/org."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, UploadFile

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
TREE_LEVELS = [lv for lv in OrgLevel if lv != OrgLevel.MULTIGRID]


async def _tree(request: Request) -> OrgTree:
    cache: OrgTreeCache = request.app.state.org_tree
    return await cache.current()


Tree = Annotated[OrgTree, Depends(_tree)]


def _read(tree: OrgTree, node: OrgNode) -> OrgUnitRead:
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
    tree: Tree,
    q: Annotated[str, Query(min_length=1, max_length=64, description="Part of a name")],
    under: Annotated[str, Query(pattern=r"^[0-9A-Z]{0,24}$")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrgSearchResult:
    """Units inside your scope whose name contains `q`, optionally under a code."""
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
async def get_unit(code: OrgCodePath, principal: Reader, tree: Tree) -> OrgUnitRead:
    """One unit with its path; ancestors of your scope are readable, siblings are not."""
    return _read(tree, _visible(tree, principal, code))


@router.get("/{code}/children", response_model=OrgChildren, summary="Children of a unit")
async def list_children(
    code: OrgCodePath,
    principal: Reader,
    tree: Tree,
    q: Annotated[str, Query(max_length=64, description="Part of a name")] = "",
    level: Annotated[list[OrgLevel] | None, Query(description="Only these levels")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrgChildren:
    """The children you may see. Multi-grid units (an overlay) appear only with level=multigrid."""
    node = _visible(tree, principal, code)
    levels = [lv.value for lv in (level or TREE_LEVELS)]
    children = tree.children(code, principal.scope, levels=levels, q=q)
    page = children[offset : offset + limit]
    return OrgChildren(
        parent=_read(tree, node),
        items=[_read(tree, n) for n in page],
        total=len(children),
        limit=limit,
        offset=offset,
    )


@router.get("/{code}/departments", response_model=list[DepartmentRead], summary="Departments")
async def list_departments(
    code: OrgCodePath, principal: Reader, tree: Tree, session: DbSession
) -> list[DepartmentRead]:
    """Functional departments (职能部门) owned by a unit."""
    _visible(tree, principal, code)
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

"""Town pages: who may read and write them, their validation, defaults and saving."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.kit.db import utcnow
from cityops.kit.errors import Conflict, Forbidden, NotFound, OutOfScope, ProblemError
from cityops.kit.scope import DataScope
from cityops.media.models import MediaPhoto
from cityops.media.repository import MediaRepository
from cityops.media.service import any_photo
from cityops.org.models import TOWN_LEVELS
from cityops.org.tree import OrgNode, OrgTree
from cityops.overview.service import PARTS
from cityops.townpage.models import TownPage
from cityops.townpage.repository import TownPageRepository
from cityops.townpage.schemas import PageRead, PageWrite, Widget

TOWN_PARTS: tuple[str, ...] = tuple(p.value for p in PARTS["town"])
#: Parts a widget may show; the map is a widget kind of its own (with chosen layers).
WIDGET_PARTS: tuple[str, ...] = tuple(p for p in TOWN_PARTS if p != "map")
#: The map layers a town's page shows unless it chose others.
DEFAULT_LAYERS = ["units", "communities", "cases"]
_TOWN_LEVELS = {level.value for level in TOWN_LEVELS}


def default_widgets(layers: Iterable[str]) -> list[Widget]:
    """The page a town has before it saves its own: its overview's live parts and a map."""
    known = [name for name in DEFAULT_LAYERS if name in set(layers)]
    spec = [
        ("part", "city_operation", 0, 0, 7, 8),
        ("map", known or ["units"], 7, 0, 5, 9),
        ("part", "event_flow", 0, 8, 7, 10),
        ("part", "dispatch", 7, 9, 5, 8),
        ("part", "multigrid", 0, 18, 7, 8),
    ]
    widgets = []
    for kind, what, x, y, w, h in spec:
        extra = {"part": what} if kind == "part" else {"layers": what}
        widgets.append(
            Widget.model_validate({"kind": kind, "x": x, "y": y, "w": w, "h": h, **extra})
        )
    return widgets


def overview_widgets() -> list[Widget]:
    """All parts of a town's overview on the grid (the overview opened by a link)."""
    widgets = []
    for index, key in enumerate(TOWN_PARTS):
        row, col = divmod(index, 3)
        where = {"x": col * 4, "y": row * 6, "w": 4, "h": 6}
        if key == "map":
            widgets.append(Widget(kind="map", layers=list(DEFAULT_LAYERS), **where))
        else:
            widgets.append(Widget(kind="part", part=key, **where))
    return widgets


def town_of(tree: OrgTree, principal: Principal, code: str) -> OrgNode:
    """A street/town in the caller's scope; 404 for others, 403 outside the scope."""
    node = tree.get(code)
    if node is None or node.level not in _TOWN_LEVELS:
        raise NotFound("street or town", code)
    if not principal.can(Perm.ORG_READ):
        raise Forbidden(f"your role ({principal.role}) lacks org.read")
    if not principal.scope.allows(code):
        raise OutOfScope(code)
    return node


def may_edit(principal: Principal, code: str) -> bool:
    """That town's own operator, or a district officer whose scope covers it."""
    if principal.role == Role.TOWN_OPERATOR:
        return principal.org_code == code and principal.scope.allows(code)
    return principal.role == Role.DISTRICT_OFFICER and principal.scope.allows(code)


def check_widgets(widgets: list[Widget], layers: Iterable[str]) -> None:
    """422 for unknown parts or layers, a part shown twice, or widgets that overlap."""
    known_layers = set(layers)
    errors: list[dict[str, object]] = []
    seen: set[str] = set()
    for index, widget in enumerate(widgets):
        loc = ["body", "widgets", index]
        if widget.part is not None:
            if widget.part not in WIDGET_PARTS:
                known = ", ".join(WIDGET_PARTS)
                errors.append(_error(loc, f"unknown part {widget.part!r}; known: {known}"))
            elif widget.part in seen:
                errors.append(_error(loc, f"part {widget.part!r} is on the page already"))
            seen.add(widget.part)
        for name in widget.layers or []:
            if name not in known_layers:
                known = ", ".join(sorted(known_layers))
                errors.append(_error(loc, f"unknown map layer {name!r}; known: {known}"))
        for other in range(index):
            if _overlap(widgets[other], widget):
                errors.append(_error(loc, f"widget {index} overlaps widget {other}"))
    if errors:
        raise ProblemError(422, "validation", str(errors[0]["msg"]), errors=errors)


def _error(loc: list[object], message: str) -> dict[str, object]:
    return {"loc": loc, "msg": message, "type": "townpage"}


def _overlap(a: Widget, b: Widget) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def page_read(node: OrgNode, row: TownPage | None, layers: Iterable[str]) -> PageRead:
    """A saved page as read, or the town's default page."""
    if row is None:
        return PageRead(
            code=node.code,
            name=node.name,
            title=f"{node.name}实景总览",
            background=None,
            background_kind="image",
            background_url=None,
            widgets=default_widgets(layers),
            version=0,
            is_default=True,
            updated_by=None,
            updated_at=None,
        )
    url = f"/towns/{node.code}/page/background?v={row.version}" if row.background else None
    return PageRead(
        code=node.code,
        name=node.name,
        title=row.title,
        background=row.background,
        background_kind=row.background_kind,
        background_url=url,
        widgets=[Widget.model_validate(w) for w in row.widgets],
        version=row.version,
        is_default=False,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


class TownPageService:
    """Town pages inside one transaction (the request boundary commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TownPageRepository(session)

    async def read(self, principal: Principal, node: OrgNode, layers: Iterable[str]) -> PageRead:
        """The town's page as the caller (already checked for scope) may read it."""
        return page_read(node, await self.repo.page(node.code, principal.scope), layers)

    async def background(self, code: str, scope: DataScope) -> MediaPhoto | None:
        """The stored photo behind the background of a town's saved page in the scope, or None."""
        row = await self.repo.page(code, scope)
        if row is None or row.background is None:
            return None
        return await any_photo(self.session, row.background.removeprefix("photo:"))

    async def save(
        self,
        principal: Principal,
        node: OrgNode,
        body: PageWrite,
        layers: Iterable[str],
        client_ip: str = "",
    ) -> PageRead:
        """Save a page (409 on a stale version); audited."""
        names = list(layers)
        if not may_edit(principal, node.code):
            raise Forbidden("only the town's own operator or a district officer edits its page")
        check_widgets(body.widgets, names)
        if body.background is not None:
            await self._check_background(principal, body.background)
        row = await self.repo.page(node.code, principal.scope)
        current = row.version if row is not None else 0
        if body.version != current:
            raise Conflict(
                f"the page changed since you read it (version {current}, you sent "
                f"{body.version}); reload and apply your changes again",
                current_version=current,
            )
        row = await self._write(principal, node.code, row, body)
        await audit.record(
            self.session,
            action="townpage.save",
            result="success",
            actor=principal,
            target=node.code,
            client_ip=client_ip,
            detail={"version": row.version, "widgets": len(body.widgets)},
        )
        return page_read(node, row, names)

    async def _write(
        self, principal: Principal, code: str, row: TownPage | None, body: PageWrite
    ) -> TownPage:
        widgets = [w.model_dump(exclude_none=True) for w in body.widgets]
        if row is None:
            row = TownPage(org_code=code, version=0)
        row.title = body.title
        row.background = body.background
        row.background_kind = body.background_kind
        row.widgets = widgets
        row.version += 1
        row.updated_by = principal.username
        row.updated_by_id = principal.account_id
        row.updated_at = utcnow()
        await self.repo.add(row)
        return row

    async def _check_background(self, principal: Principal, ref: str) -> None:
        sha = ref.removeprefix("photo:")
        found = await MediaRepository(self.session).visible_set(
            [sha], principal.scope, principal.account_id
        )
        if sha not in found:
            message = f"unknown photo {ref}; upload it first (POST /api/v1/media/photos)"
            errors = [{"loc": ["body", "background"], "msg": message, "type": "photo.unknown"}]
            raise ProblemError(422, "validation", message, errors=errors)

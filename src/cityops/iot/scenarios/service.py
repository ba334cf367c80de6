"""Templates (district), instances (owner's scope) and the scene events' life cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.cases import UnknownCategoryError, find_category
from cityops.iot.readings import DeviceDirectory
from cityops.iot.scenarios import repository as repo
from cityops.iot.scenarios.models import ScenarioInstance, ScenarioTemplate, SceneEventRow
from cityops.iot.scenarios.params import ParamSpec, bad_params, check_spec, merged
from cityops.iot.scenarios.schemas import (
    InstanceCreate,
    InstanceUpdate,
    TemplateBody,
    TemplateCreate,
)
from cityops.kit.db import utcnow
from cityops.kit.errors import Conflict, NotFound, OutOfScope, ProblemError


def specs_of(template: ScenarioTemplate) -> dict[str, ParamSpec]:
    """A stored template's parameter specs."""
    return {name: ParamSpec.model_validate(raw) for name, raw in template.params.items()}


class TemplateService:
    """District authors write templates; every reader of scenarios may list them."""

    def __init__(self, session: AsyncSession, district_code: str) -> None:
        self.session = session
        self.district = district_code

    def _author(self, principal: Principal) -> None:
        if not principal.scope.allows(self.district):
            raise OutOfScope(self.district)

    async def create(self, principal: Principal, body: TemplateCreate) -> ScenarioTemplate:
        """Version 1 of a new template."""
        self._author(principal)
        if await repo.template(self.session, body.code, None) is not None:
            raise Conflict(f"template {body.code} exists: publish a new version instead")
        return self._add(principal, body.code, 1, body)

    async def publish(
        self, principal: Principal, code: str, body: TemplateBody
    ) -> ScenarioTemplate:
        """The next version of a template; running instances keep theirs until upgraded."""
        self._author(principal)
        latest = await repo.template(self.session, code, None)
        if latest is None:
            raise NotFound("template", code)
        return self._add(principal, code, latest.version + 1, body)

    def _add(
        self, principal: Principal, code: str, version: int, body: TemplateBody
    ) -> ScenarioTemplate:
        check_spec(body.kind, body.params)
        merged(body.params, {})
        _check_case(body)
        row = ScenarioTemplate(
            code=code,
            version=version,
            owner_code=self.district,
            created_by=principal.username,
            **body.model_dump(mode="json", exclude={"code"}),
        )
        self.session.add(row)
        return row


def _check_case(body: TemplateBody) -> None:
    if body.opens_case and not body.category:
        raise bad_params("a template that opens cases names the case category", param="category")
    if body.category:
        try:
            find_category(body.category)
        except UnknownCategoryError as exc:
            raise bad_params(str(exc), param="category") from None


class InstanceService:
    """Towns run templates on their own devices; all in the owner's data scope."""

    def __init__(self, session: AsyncSession, directory: DeviceDirectory | None) -> None:
        self.session = session
        self.directory = directory

    async def create(self, principal: Principal, body: InstanceCreate) -> ScenarioInstance:
        """A new instance pinned to a template version, its params checked against the bounds."""
        if not principal.scope.allows(body.owner_code):
            raise OutOfScope(body.owner_code)
        template = await self._template(body.template_code, body.template_version)
        if bool(body.device_ids) == bool(body.profile):
            raise bad_params(
                "select devices either by device_ids or by profile, not both or neither"
            )
        await self._owned(body.owner_code, body.device_ids)
        row = ScenarioInstance(
            owner_code=body.owner_code,
            name=body.name,
            template_code=template.code,
            template_version=template.version,
            device_ids=list(dict.fromkeys(body.device_ids)),
            profile=body.profile,
            overrides=body.overrides,
            params=merged(specs_of(template), body.overrides),
            enabled=True,
            disabled_reason="",
            created_by=principal.username,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def update(
        self, principal: Principal, instance_id: int, body: InstanceUpdate
    ) -> ScenarioInstance:
        """New overrides, an explicit upgrade to another version, or enable/disable."""
        row = await self.get(principal, instance_id)
        version = body.template_version or row.template_version
        overrides = row.overrides if body.overrides is None else body.overrides
        template = await self._template(row.template_code, version)
        row.params = merged(specs_of(template), overrides)
        row.template_version, row.overrides = version, overrides
        if body.enabled is not None:
            row.enabled = body.enabled
            row.disabled_reason = "" if body.enabled else f"由 {principal.username} 停用"
        row.updated_at = utcnow()
        return row

    async def get(self, principal: Principal, instance_id: int) -> ScenarioInstance:
        """One instance in the caller's scope (404 when it is not)."""
        row = await repo.instance(self.session, principal.scope, instance_id)
        if row is None:
            raise NotFound("scenario instance", instance_id)
        return row

    async def _template(self, code: str, version: int | None) -> ScenarioTemplate:
        template = await repo.template(self.session, code, version)
        if template is None:
            raise ProblemError(
                422, "unknown-template", f"no template {code} version {version or 'latest'}"
            )
        return template

    async def _owned(self, owner_code: str, device_ids: list[str]) -> None:
        if self.directory is None:
            return
        for device_id in device_ids:
            device = await self.directory.device(device_id)
            if device is None or device.owner_code != owner_code:
                raise bad_params(
                    f"device {device_id} is not a device of {owner_code}", param="device_ids"
                )


class SceneEventService:
    """Read, acknowledge and clear scene events in the caller's scope."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(
        self, principal: Principal, statuses: tuple[str, ...], instance_id: int | None = None
    ) -> list[SceneEventRow]:
        """Scene events in scope."""
        return await repo.scene_events(self.session, principal.scope, statuses, instance_id)

    async def get(self, principal: Principal, event_id: int) -> SceneEventRow:
        """One scene event in scope (404 when it is not)."""
        row = await repo.scene_event(self.session, principal.scope, event_id)
        if row is None:
            raise NotFound("scene event", event_id)
        return row

    async def ack(self, principal: Principal, event_id: int) -> SceneEventRow:
        """Active → acknowledged, recording who and when."""
        row = await self.get(principal, event_id)
        if row.status != "active":
            raise Conflict(f"scene event {event_id} is {row.status}, not active", state=row.status)
        row.status, row.acked_at, row.acked_by = "acknowledged", utcnow(), principal.username
        return row

    async def clear(self, principal: Principal, event_id: int) -> SceneEventRow:
        """Active or acknowledged → cleared by a person, recording who and when."""
        row = await self.get(principal, event_id)
        if row.status == "cleared":
            raise Conflict(f"scene event {event_id} is already cleared", state=row.status)
        row.status, row.cleared_at, row.cleared_by = "cleared", utcnow(), principal.username
        return row


def stats_of(engine: Any, instance_id: int) -> dict[str, Any]:
    """The engine's counters of one instance (empty when this process runs no engine)."""
    if engine is None:
        return {}
    found: dict[str, Any] = engine.health()["instances"].get(instance_id, {})
    return found

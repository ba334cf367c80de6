"""The rules of sharing: apply, decide (approve, reject, withdraw, revoke), list, read the log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.audit import record
from cityops.auth.principal import Principal
from cityops.kit.db import utcnow
from cityops.kit.errors import NotFound, ProblemError
from cityops.sharing.decide import LABELS, Action, Refused, Side, Status, allowed, decide, effective
from cityops.sharing.kinds import KindRegistry, ResourceKind
from cityops.sharing.models import ShareApplication, ShareGrant
from cityops.sharing.repository import SharingRepository
from cityops.sharing.schemas import AccessRead, ApplicationCreate, ApplicationRead, GrantRead


def invalid(detail: str, field: str) -> ProblemError:
    """A 422 problem about one field of the request."""
    errors = [{"loc": ["body", field], "msg": detail, "type": "value_error"}]
    return ProblemError(422, "validation", detail, errors=errors)


def sides_of(principal: Principal, application: ShareApplication) -> frozenset[Side]:
    """On which sides of an application the caller stands (none: they may not see it)."""
    sides = set()
    if principal.scope.allows(application.owner_code):
        sides.add(Side.OWNER)
    if principal.scope.allows(application.grantee_code):
        sides.add(Side.APPLICANT)
    return frozenset(sides)


class SharingService:
    """Applications and grants for one request's session."""

    def __init__(self, session: AsyncSession, kinds: KindRegistry) -> None:
        self.session = session
        self.kinds = kinds
        self.repo = SharingRepository(session)

    def _kind(self, name: str) -> ResourceKind:
        kind = self.kinds.get(name)
        if kind is None:
            known = ", ".join(k.name for k in self.kinds.all()) or "none"
            raise invalid(f"no resource kind {name!r} can be shared (known: {known})", "kind")
        return kind

    async def _owner(self, kind: ResourceKind, resource_ids: Sequence[str]) -> str:
        """The one owner of the resources; 422 for unknown ones or several owners."""
        owners = await kind.owners(self.session, resource_ids)
        missing = [r for r in resource_ids if r not in owners]
        if missing:
            raise invalid(f"no {kind.name} {', '.join(missing[:10])}", "resource_ids")
        codes = sorted(set(owners.values()))
        if len(codes) > 1:
            raise invalid(
                f"the resources belong to several owners ({', '.join(codes)})", "resource_ids"
            )
        return codes[0]

    async def apply(
        self, principal: Principal, body: ApplicationCreate, ip: str, now: datetime | None = None
    ) -> ApplicationRead:
        """File an application for the caller's unit; it waits for the owner side."""
        moment = now or utcnow()
        kind = self._kind(body.kind)
        if body.keys is not None and not kind.keyed:
            raise invalid(f"{kind.name} has no data keys to choose", "keys")
        if body.expires_at <= moment:
            raise invalid("expires_at must lie in the future", "expires_at")
        resource_ids = list(dict.fromkeys(body.resource_ids))
        owner = await self._owner(kind, resource_ids)
        if body.keys is not None:
            unknown = await kind.unknown_keys(self.session, resource_ids, body.keys)
            if unknown:
                raise invalid(f"no such data key: {', '.join(unknown[:10])}", "keys")
        if principal.scope.allows(owner):
            raise invalid("these resources are already in your data scope", "resource_ids")
        application = await self.repo.add(
            ShareApplication(
                kind=kind.name,
                resource_ids=resource_ids,
                keys=sorted(set(body.keys)) if body.keys is not None else None,
                data_from=body.data_from,
                data_until=body.data_until,
                purpose=body.purpose,
                expires_at=body.expires_at,
                grantee_code=principal.org_code,
                owner_code=owner,
                status=Status.PENDING.value,
                applicant=principal.username,
                applicant_id=principal.account_id,
                applied_at=moment,
            )
        )
        await self._audit(principal, "sharing.apply", application, ip)
        return await self._read(principal, application, moment)

    async def act(
        self,
        principal: Principal,
        application_id: int,
        action: Action,
        ip: str,
        reason: str = "",
        now: datetime | None = None,
    ) -> ApplicationRead:
        """Approve, reject, withdraw or revoke, as the table allows this caller now."""
        moment = now or utcnow()
        application = await self.repo.application_for_update(application_id)
        sides = sides_of(principal, application) if application else frozenset()
        if application is None or not sides:
            raise NotFound("application", application_id)
        status = effective(application.status, application.expires_at, moment)
        outcome = decide(status, action, sides, principal.permissions, reason)
        if isinstance(outcome, Refused):
            slug = {403: "forbidden", 409: "conflict"}.get(outcome.status, "validation")
            raise ProblemError(outcome.status, slug, outcome.why)
        if action is Action.APPROVE:
            await self._grant(application, moment)
        if action is Action.REVOKE:
            await self.repo.revoke_grants(application.id, moment)
        application.status = outcome.value
        application.decided_by = principal.username
        application.decided_at = moment
        application.reason = reason.strip() or application.reason
        await self._audit(principal, f"sharing.{action.value}", application, ip, reason)
        return await self._read(principal, application, moment)

    async def _grant(self, application: ShareApplication, now: datetime) -> None:
        """One grant per resource; the resources must still exist under the same owner."""
        if application.expires_at <= now:
            raise ProblemError(409, "conflict", "the application's expiry has passed")
        kind = self._kind(application.kind)
        owners = await kind.owners(self.session, application.resource_ids)
        moved = [r for r in application.resource_ids if owners.get(r) != application.owner_code]
        if moved:
            raise ProblemError(
                409, "conflict", f"gone or moved to another owner: {', '.join(moved[:10])}"
            )
        for resource_id in application.resource_ids:
            self.session.add(
                ShareGrant(
                    application_id=application.id,
                    kind=application.kind,
                    resource_id=resource_id,
                    grantee_code=application.grantee_code,
                    owner_code=application.owner_code,
                    keys=application.keys,
                    data_from=application.data_from,
                    data_until=application.data_until,
                    granted_at=now,
                    expires_at=application.expires_at,
                )
            )
        await self.session.flush()

    async def _audit(
        self, principal: Principal, action: str, app: ShareApplication, ip: str, reason: str = ""
    ) -> None:
        detail: dict[str, object] = {
            "kind": app.kind,
            "resources": len(app.resource_ids),
            "grantee": app.grantee_code,
            "owner": app.owner_code,
        }
        if reason:
            detail["reason"] = reason[:200]
        await record(
            self.session,
            action=action,
            result="ok",
            actor=principal,
            target=f"share_application:{app.id}",
            client_ip=ip,
            detail=detail,
        )

    async def _read(
        self, principal: Principal, application: ShareApplication, now: datetime
    ) -> ApplicationRead:
        grants = await self.repo.grants_of(application.id)
        return self.shape(principal, application, [g.id for g in grants], now)

    def shape(
        self, principal: Principal, app: ShareApplication, grant_ids: list[int], now: datetime
    ) -> ApplicationRead:
        """An application as the caller sees it, with the actions open to them."""
        status = effective(app.status, app.expires_at, now)
        kind = self.kinds.get(app.kind)
        actions = allowed(status, sides_of(principal, app), principal.permissions)
        return ApplicationRead(
            id=app.id,
            kind=app.kind,
            kind_label=kind.label if kind else app.kind,
            resource_ids=list(app.resource_ids),
            keys=list(app.keys) if app.keys is not None else None,
            data_from=app.data_from,
            data_until=app.data_until,
            purpose=app.purpose,
            expires_at=app.expires_at,
            grantee_code=app.grantee_code,
            owner_code=app.owner_code,
            status=status.value,
            status_label=LABELS[status],
            applicant=app.applicant,
            applied_at=app.applied_at,
            decided_by=app.decided_by,
            decided_at=app.decided_at,
            reason=app.reason,
            actions=[a.value for a in actions],
            grant_ids=grant_ids,
        )

    async def read(self, principal: Principal, application_id: int) -> ApplicationRead:
        """One application the caller stands on a side of; 404 otherwise."""
        application = await self.repo.application(application_id)
        if application is None or not sides_of(principal, application):
            raise NotFound("application", application_id)
        return await self._read(principal, application, utcnow())

    async def applications(
        self,
        principal: Principal,
        *,
        as_owner: bool,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ApplicationRead]:
        """The caller's unit's applications, or those awaiting the caller's side as owner."""
        now = utcnow()
        stored = {Status.EXPIRED.value: Status.APPROVED.value}.get(status or "", status)
        rows = await self.repo.applications(
            principal.scope, as_owner=as_owner, status=stored, kind=kind, limit=limit, offset=offset
        )
        shaped = []
        for row in rows:
            grants = await self.repo.grants_of(row.id) if row.status != Status.PENDING else []
            shaped.append(self.shape(principal, row, [g.id for g in grants], now))
        return [a for a in shaped if status is None or a.status == status]

    async def grants(
        self, principal: Principal, *, as_owner: bool, live: bool, limit: int, offset: int
    ) -> list[GrantRead]:
        """Grants the caller's unit holds, or (owner side) has given."""
        now = utcnow()
        rows = await self.repo.grants(
            principal.scope,
            as_owner=as_owner,
            live_at=now if live else None,
            limit=limit,
            offset=offset,
        )
        return [grant_read(r, now) for r in rows]

    async def accesses(
        self, principal: Principal, grant_id: int, limit: int, offset: int
    ) -> list[AccessRead]:
        """The access log of a grant, for its holder's or its owner's side."""
        grant = await self.repo.grant(grant_id)
        if grant is None or not (
            principal.scope.allows(grant.owner_code) or principal.scope.allows(grant.grantee_code)
        ):
            raise NotFound("grant", grant_id)
        rows = await self.repo.accesses(grant_id, limit, offset)
        return [
            AccessRead(
                id=r.id, grant_id=r.grant_id, actor=r.actor, action=r.action, count=r.count, at=r.at
            )
            for r in rows
        ]

    async def grant(self, principal: Principal, grant_id: int) -> GrantRead:
        """One grant, for its holder's or its owner's side."""
        grant = await self.repo.grant(grant_id)
        if grant is None or not (
            principal.scope.allows(grant.owner_code) or principal.scope.allows(grant.grantee_code)
        ):
            raise NotFound("grant", grant_id)
        return grant_read(grant, utcnow())


def grant_read(row: ShareGrant, now: datetime) -> GrantRead:
    """A grant row as the API shows it."""
    return GrantRead(
        id=row.id,
        application_id=row.application_id,
        kind=row.kind,
        resource_id=row.resource_id,
        grantee_code=row.grantee_code,
        owner_code=row.owner_code,
        keys=list(row.keys) if row.keys is not None else None,
        data_from=row.data_from,
        data_until=row.data_until,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        live=row.revoked_at is None and row.expires_at > now,
    )

"""HTTP endpoints of personal data (/api/v1/privacy): the register, export and erasure by phone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.config import Settings
from cityops.kit.web import ClientIp, DbSession
from cityops.lifecycle import service
from cityops.lifecycle.register import REGISTER, retention_days
from cityops.lifecycle.schemas import (
    HoldingRead,
    RegisterRead,
    SubjectErased,
    SubjectExport,
    SubjectRequest,
)

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])

Manager = Annotated[Principal, Depends(require(Perm.PRIVACY_MANAGE))]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/register", response_model=RegisterRead, summary="The personal-data register")
async def read_register(principal: Manager, request: Request) -> RegisterRead:
    """What personal data cityops holds, where, how it is protected and how long it is kept."""
    return RegisterRead(
        holdings=[
            HoldingRead(
                table=h.table,
                columns=list(h.columns),
                what=h.what,
                data_class=h.data_class.value,
                protection=h.protection,
                retention=h.retention,
            )
            for h in REGISTER
        ],
        retention_days={k.value: v for k, v in retention_days(_settings(request)).items()},
    )


@router.post("/subject-export", response_model=SubjectExport, summary="Export one person's data")
async def subject_export(
    body: SubjectRequest, principal: Manager, request: Request, session: DbSession, ip: ClientIp
) -> SubjectExport:
    """Every case in your scope holding this phone number's contact, unmasked; audited."""
    found = await service.export_person(session, _settings(request), principal, body.phone, ip)
    return SubjectExport.model_validate(found)


@router.post("/subject-erase", response_model=SubjectErased, summary="Erase one person's data")
async def subject_erase(
    body: SubjectRequest, principal: Manager, request: Request, session: DbSession, ip: ClientIp
) -> SubjectErased:
    """Clear this phone number's contact from every case in your scope; audited."""
    ids = await service.erase_person(session, _settings(request), principal, body.phone, ip)
    return SubjectErased(cases=ids)

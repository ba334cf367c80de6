"""Dependencies shared by the hub's endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.iot.registry.service import ID_PATTERN
from cityops.iot.runtime import IotRuntime
from cityops.kit.errors import ProblemError

Reader = Annotated[Principal, Depends(require(Perm.IOT_READ))]
Manager = Annotated[Principal, Depends(require(Perm.IOT_MANAGE))]
Ingester = Annotated[Principal, Depends(require(Perm.IOT_INGEST))]
DeviceId = Annotated[str, Path(pattern=ID_PATTERN, description="Device id")]


async def iot_runtime(request: Request) -> IotRuntime:
    """The hub running in this app (503 before it starts)."""
    runtime: IotRuntime | None = getattr(request.app.state, "iot", None)
    if runtime is None:
        raise ProblemError(503, "unavailable", "the IoT hub is not running")
    return runtime


Runtime = Annotated[IotRuntime, Depends(iot_runtime)]

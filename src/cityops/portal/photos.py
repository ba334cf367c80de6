"""A case's photos on its pages: whoever may see the case may see the photos it refers to.

The media API decides by the photo's own scope and uploader; on a case page the case decides,
so a grid worker sees the photo a town handler took of its community's case.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.cases import CaseAccess, CaseService, env_of
from cityops.kit.db import unit_of_work
from cityops.kit.web import sessionmaker_of
from cityops.media.api import photo_response
from cityops.media.models import MediaPhoto
from cityops.media.service import any_photo, ref_of
from cityops.media.storage import SHA256, PhotoStore, Variant
from cityops.portal.case_page import case_id_of
from cityops.portal.gate import tree_of
from cityops.portal.render import error_page, frame
from cityops.portal.workbench import NOT_VISIBLE, case_reader

router = APIRouter(include_in_schema=False)


async def _case_photo(
    request: Request, principal: Principal, case_id: int, sha: str
) -> MediaPhoto | None:
    """The photo row when the case is visible and refers to the photo (report or timeline)."""
    env = env_of(request)
    access = CaseAccess.of(principal)
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = CaseService(session, env)
        case = await svc.find(access, case_id)
        if case is None:
            return None
        refs = set(case.photos or [])
        for event in await svc.timeline(access, case.id):
            refs.update(p for p in (event.detail or {}).get("photos", []) if isinstance(p, str))
        if ref_of(sha) not in refs:
            return None
        return await any_photo(session, sha)


async def _serve(request: Request, case_id: str, sha: str, variant: Variant) -> Response:
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    number = case_id_of(case_id)
    row = None
    if number is not None and SHA256.fullmatch(sha):
        row = await _case_photo(request, principal, number, sha)
    if row is None:
        return error_page(frame(request, await tree_of(request), principal), 404, NOT_VISIBLE)
    return photo_response(PhotoStore(env_of(request).settings.media_dir), row, variant)


@router.get("/cases/{case_id}/photos/{sha}")
async def case_photo(request: Request, case_id: str, sha: str) -> Response:
    """A photo of a case."""
    return await _serve(request, case_id, sha, Variant.PHOTO)


@router.get("/cases/{case_id}/photos/{sha}/thumb")
async def case_thumbnail(request: Request, case_id: str, sha: str) -> Response:
    """A photo's thumbnail."""
    return await _serve(request, case_id, sha, Variant.THUMB)

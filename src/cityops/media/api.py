"""HTTP endpoints of photos under /api/v1/media: upload, and fetch within the data scope."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Request, Response, UploadFile
from fastapi.responses import FileResponse

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.config import Settings
from cityops.kit.errors import NotFound
from cityops.kit.web import DbSession
from cityops.media.models import MediaPhoto
from cityops.media.schemas import PhotoRead
from cityops.media.service import REF_PATTERN, MediaService, Uploader, ref_of
from cityops.media.storage import PhotoStore, Variant

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/media", tags=["media"])
UPLOAD_PATH = "/api/v1/media/photos"
#: Room for the multipart framing around one photo.
MULTIPART_OVERHEAD = 64 * 1024

#: Who may upload: whoever may open a case or act on one.
Writer = Annotated[
    Principal,
    Depends(require(Perm.CASE_CREATE, Perm.CASE_HANDLE, Perm.CASE_VERIFY, Perm.CASE_DISPATCH)),
]
Reader = Annotated[Principal, Depends(require(Perm.CASE_READ))]
Ref = Annotated[str, Path(pattern=REF_PATTERN, description='"photo:<sha256>" or the sha256')]

#: Sent with every photo: immutable content, never sniffed, never run as a document.
FILE_HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def media_body_limits(settings: Settings) -> dict[str, int]:
    """Body size overrides of the upload endpoint (one photo and its framing)."""
    return {UPLOAD_PATH: settings.media_max_bytes + MULTIPART_OVERHEAD}


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def photo_read(row: MediaPhoto, created: bool) -> PhotoRead:
    """The answer describing a stored photo."""
    ref = ref_of(row.sha256)
    return PhotoRead(
        ref=ref,
        sha256=row.sha256,
        content_type=row.content_type,
        bytes=row.bytes,
        width=row.width,
        height=row.height,
        url=f"{UPLOAD_PATH}/{ref}",
        thumb_url=f"{UPLOAD_PATH}/{ref}/thumb",
        created=created,
        created_at=row.created_at,
    )


@router.post(
    "/photos",
    response_model=PhotoRead,
    status_code=201,
    summary="Upload a photo",
    responses={200: {"description": "You had uploaded the same photo before"}},
)
async def upload_photo(
    request: Request,
    principal: Writer,
    session: DbSession,
    response: Response,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image")],
) -> PhotoRead:
    """Store a photo without its metadata; put the returned `ref` into a case's photos."""
    settings = settings_of(request)
    raw = await file.read(settings.media_max_bytes + 1)
    svc = MediaService(session, settings)
    uploader = Uploader(principal.account_id, principal.username, principal.org_code)
    row, created = await svc.upload(raw, uploader)
    if not created:
        response.status_code = 200
    return photo_read(row, created)


async def _serve(
    request: Request, principal: Principal, session: DbSession, ref: str, variant: Variant
) -> FileResponse:
    sha = ref.removeprefix("photo:")
    svc = MediaService(session, settings_of(request))
    row = await svc.visible(sha, principal.scope, principal.account_id)
    return photo_response(svc.store, row, variant)


def photo_response(store: PhotoStore, row: MediaPhoto, variant: Variant) -> FileResponse:
    """Stream a photo's file; 404 (and an error in the log) when the file is gone."""
    path = store.path(row.sha256, variant)
    if not path.is_file():
        log.error("photo %s (%s) is in the database but its file is missing", row.sha256, variant)
        raise NotFound("photo file", ref_of(row.sha256))
    media_type = "image/jpeg" if variant is Variant.THUMB else row.content_type
    return FileResponse(path, media_type=media_type, headers=dict(FILE_HEADERS))


@router.get("/photos/{ref}", summary="A photo", response_class=FileResponse)
async def get_photo(
    request: Request, ref: Ref, principal: Reader, session: DbSession
) -> FileResponse:
    """The photo, to callers whose scope covers it and to its uploader; 404 otherwise."""
    return await _serve(request, principal, session, ref, Variant.PHOTO)


@router.get("/photos/{ref}/thumb", summary="A photo's thumbnail", response_class=FileResponse)
async def get_thumbnail(
    request: Request, ref: Ref, principal: Reader, session: DbSession
) -> FileResponse:
    """A small JPEG of the photo, under the same rule as the photo."""
    return await _serve(request, principal, session, ref, Variant.THUMB)

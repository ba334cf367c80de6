"""The media service: clean and store uploaded photos, and decide who may fetch them; never commits.

A photo is referred to as `photo:<sha256>` (the hash of the cleaned file). Cases keep these
references in `photos`; the timeline keeps those that came with an action.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.config import Settings
from cityops.kit.errors import PROBLEM_TYPES, NotFound, ProblemError
from cityops.kit.scope import DataScope
from cityops.media.imaging import ImageRejected, Limits, Processed, process
from cityops.media.models import MediaPhoto
from cityops.media.repository import MediaRepository
from cityops.media.storage import PhotoStore, Variant

PROBLEM_TYPES.setdefault(
    "invalid-image",
    (
        "Not a usable photo",
        "The file is not a JPEG, PNG or WebP image, is damaged, or has too many pixels.",
    ),
)

REF_PREFIX = "photo:"
PHOTO_REF = re.compile(r"photo:([0-9a-f]{64})")
#: A path segment naming a photo: its reference, or the bare sha256.
REF_PATTERN = r"^(photo:)?[0-9a-f]{64}$"
IMAGE_TEXTS = {
    "unsupported": "不是 JPEG、PNG 或 WebP 格式的图片",
    "corrupt": "图片已损坏或不完整",
    "too_many_pixels": "图片像素过多",
}

# Decoding is CPU work: at most two images at once per process, off the event loop.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cityops-image")


def ref_of(sha256: str) -> str:
    """The reference of a stored photo."""
    return f"{REF_PREFIX}{sha256}"


def sha_of(ref: str) -> str | None:
    """The sha256 a photo reference names, or None when it is not one."""
    match = PHOTO_REF.fullmatch(ref)
    return match.group(1) if match else None


def photo_refs(values: Iterable[str]) -> list[str]:
    """The sha256 of each platform photo reference among these (URLs and others skipped)."""
    return [sha for sha in (sha_of(v) for v in values) if sha is not None]


async def any_photo(session: AsyncSession, sha256: str) -> MediaPhoto | None:
    """Some row of this content, whoever owns it: only for callers that decided access otherwise.

    A case page shows the case's photos to whoever may see the case; a town page shows its
    background to whoever may see the page.
    """
    return await MediaRepository(session).any_row(sha256)


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who stores a photo, and the unit whose data scope it belongs to."""

    account_id: int | None
    name: str
    org_code: str


def image_problem(exc: ImageRejected, field: str = "file") -> ProblemError:
    """422 invalid-image naming the field and why."""
    return ProblemError(
        422,
        "invalid-image",
        str(exc),
        errors=[{"loc": ["body", field], "msg": str(exc), "type": f"image.{exc.kind}"}],
        reason=exc.kind,
    )


class MediaService:
    """Photos inside one transaction."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = MediaRepository(session)
        self.store = PhotoStore(settings.media_dir)

    def limits(self) -> Limits:
        """The decoding and size limits of the settings."""
        s = self.settings
        return Limits(s.media_max_pixels, s.media_max_side, s.media_thumb_side)

    async def clean(self, raw: bytes, field: str = "file") -> Processed:
        """Re-encode an upload without metadata (off the event loop); 413/422 when unusable."""
        limit = self.settings.media_max_bytes
        if len(raw) > limit:
            raise ProblemError(413, "body-too-large", f"a photo may have at most {limit} bytes")
        if not raw:
            raise image_problem(ImageRejected("unsupported", "the file is empty"), field)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_executor, process, raw, self.limits())
        except ImageRejected as exc:
            raise image_problem(exc, field) from exc

    async def save(self, photo: Processed, uploader: Uploader) -> tuple[MediaPhoto, bool]:
        """Write the files (atomically) and the uploader's row; (row, False) when it had one."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._write_files, photo)
        found = await self.repo.own(photo.sha256, uploader.account_id, uploader.org_code)
        if found is not None:
            return found, False
        row = MediaPhoto(
            sha256=photo.sha256,
            content_type=photo.content_type,
            bytes=len(photo.data),
            width=photo.width,
            height=photo.height,
            thumb_bytes=len(photo.thumb),
            uploader_id=uploader.account_id,
            uploader=uploader.name,
            org_code=uploader.org_code,
        )
        self.session.add(row)
        await self.session.flush()
        return row, True

    def _write_files(self, photo: Processed) -> None:
        self.store.put(photo.sha256, Variant.PHOTO, photo.data)
        self.store.put(photo.sha256, Variant.THUMB, photo.thumb)

    async def upload(self, raw: bytes, uploader: Uploader) -> tuple[MediaPhoto, bool]:
        """Clean and store one upload."""
        return await self.save(await self.clean(raw), uploader)

    async def visible(self, sha256: str, scope: DataScope, account_id: int | None) -> MediaPhoto:
        """A photo the caller may fetch (own upload or inside the scope), else 404."""
        row = await self.repo.visible(sha256, scope, account_id)
        if row is None:
            raise NotFound("photo", ref_of(sha256))
        return row

    async def check_refs(
        self, refs: Sequence[str], scope: DataScope, account_id: int | None, field: str = "photos"
    ) -> None:
        """422 unless every `photo:` reference names a photo the caller may see.

        Other references (an Open311 `media_url`, a 12345 system's own link) pass unchanged.
        """
        wanted = photo_refs(refs)
        known = await self.repo.visible_set(wanted, scope, account_id)
        unknown = [ref_of(sha) for sha in wanted if sha not in known]
        if unknown:
            message = f"unknown photo reference(s): {', '.join(unknown)}; upload them first"
            errors = [
                {"loc": ["body", field, refs.index(ref)], "msg": message, "type": "photo.unknown"}
                for ref in unknown
            ]
            raise ProblemError(422, "validation", message, errors=errors)

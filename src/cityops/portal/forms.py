"""Form plumbing of the workbench pages: body limits, text fields and photo files of a form.

Forms with photos post to fixed paths, so the body-size middleware (which matches exact paths)
can give them room for `MAX_FORM_PHOTOS` photos while every other portal path keeps the small
default limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from cityops.config import Settings

ACT_PATH = "/cases/act"
REPORT_PATH = "/m/report"
CITIZEN_PATH = "/m/citizen"
PHOTO_FORMS = (ACT_PATH, REPORT_PATH, CITIZEN_PATH)
MAX_FORM_PHOTOS = 3
MAX_FORM_FIELDS = 40
#: Room for the text fields and the multipart framing around the photos.
FORM_OVERHEAD = 256 * 1024


def form_body_limits(settings: Settings) -> dict[str, int]:
    """Body size overrides of the forms that carry photos."""
    room = MAX_FORM_PHOTOS * settings.media_max_bytes + FORM_OVERHEAD
    return dict.fromkeys(PHOTO_FORMS, room)


async def read_form(request: Request) -> FormData:
    """The posted form, with at most the allowed number of files and fields (400 beyond)."""
    return await request.form(max_files=MAX_FORM_PHOTOS, max_fields=MAX_FORM_FIELDS)


def text(form: FormData, name: str, limit: int = 4000) -> str:
    """A text field (a file where text belongs counts as empty), cut at `limit` characters."""
    value = form.get(name)
    return value[: limit + 1] if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class PhotoFile:
    """An uploaded photo's bytes and the name the phone gave it."""

    name: str
    data: bytes


async def photo_files(form: FormData, name: str, max_bytes: int) -> list[PhotoFile]:
    """The non-empty files of a field (an empty file input sends one nameless empty part)."""
    found: list[PhotoFile] = []
    for value in form.getlist(name):
        if not isinstance(value, UploadFile):
            continue
        data = await value.read(max_bytes + 1)
        if data or value.filename:
            found.append(PhotoFile(value.filename or "", data))
    return found

"""Decode an uploaded image, refuse what is not a photo, and re-encode it without metadata.

Photos from phones carry EXIF: the GPS position of the reporter's home, the phone's serial
number, the time. That is personal data the platform does not need (the case has its own
location), so nothing of the file but its pixels survives: the image is decoded, turned upright
by its EXIF orientation, converted to sRGB, capped in size and encoded afresh with no EXIF, XMP,
ICC, text chunks or comments. The format is found from the bytes (Pillow's sniffing limited to
JPEG, PNG and WebP), never from the client's Content-Type or file name.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

#: Pillow format → (content type, re-encode options). Only these are accepted.
FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    "JPEG": ("image/jpeg", {"quality": 85, "optimize": True}),
    "PNG": ("image/png", {"compress_level": 6}),
    "WEBP": ("image/webp", {"quality": 85, "method": 4}),
}
THUMB_OPTIONS: dict[str, object] = {"quality": 80, "optimize": True}
_OPAQUE_MODES = {"JPEG": ("RGB", "L")}


class ImageRejected(ValueError):
    """The upload is not an image we take: unsupported, corrupt, or too many pixels."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # unsupported | corrupt | too_many_pixels


@dataclass(frozen=True, slots=True)
class Limits:
    """How large a decoded image may be, and how large the stored copies are."""

    max_pixels: int
    max_side: int
    thumb_side: int


@dataclass(frozen=True, slots=True)
class Processed:
    """A clean photo and its thumbnail, ready to store."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumb: bytes
    sha256: str


def process(raw: bytes, limits: Limits) -> Processed:
    """Sniff, decode, clean and re-encode an uploaded image; ImageRejected when it is unusable.

    The pixel limit is checked on the header, before decoding; Pillow's own bomb check (an
    error above twice `Image.MAX_IMAGE_PIXELS`) stays as a second line. Warnings are left
    alone: `warnings.catch_warnings` is not thread-safe, and this runs on a thread pool.
    """
    try:
        return _process(raw, limits)
    except ImageRejected:
        raise
    except UnidentifiedImageError as exc:
        raise ImageRejected("unsupported", "not a JPEG, PNG or WebP image") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRejected("too_many_pixels", "the image has too many pixels") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Truncated or damaged data surfaces as any of these from the decoders.
        raise ImageRejected("corrupt", "the image is damaged or truncated") from exc


def _process(raw: bytes, limits: Limits) -> Processed:
    with Image.open(io.BytesIO(raw), formats=list(FORMATS)) as source:
        fmt = str(source.format)
        width, height = source.size
        if width * height > limits.max_pixels:
            raise ImageRejected(
                "too_many_pixels",
                f"{width}×{height} pixels is more than the {limits.max_pixels} allowed",
            )
        if fmt == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers max_side.
            source.draft("RGB", (limits.max_side, limits.max_side))
        source.load()
        icc = source.info.get("icc_profile")
        image = ImageOps.exif_transpose(source)
    image = _srgb(_normalised(image, fmt), icc)
    image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    data = _encode(image, fmt, FORMATS[fmt][1])
    return Processed(
        data=data,
        content_type=FORMATS[fmt][0],
        width=image.width,
        height=image.height,
        thumb=_thumbnail(image, limits.thumb_side),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _normalised(image: Image.Image, fmt: str) -> Image.Image:
    """The pixels in a mode the output format keeps: RGB/L for JPEG, RGB(A)/L(A) otherwise."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if fmt in _OPAQUE_MODES:
        return image if image.mode in _OPAQUE_MODES[fmt] else image.convert("RGB")
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    return image.convert("RGBA" if has_alpha else "RGB")


def _srgb(image: Image.Image, icc: object) -> Image.Image:
    """Convert from an embedded colour profile to sRGB, so dropping the profile keeps colours."""
    if not isinstance(icc, bytes) or not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are
    return converted if converted is not None else image


def _encode(image: Image.Image, fmt: str, options: dict[str, object]) -> bytes:
    """Encode with nothing but pixels: no EXIF, XMP, ICC profile, comment or text."""
    image.info = {}
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _thumbnail(image: Image.Image, side: int) -> bytes:
    """A small JPEG of the photo, transparency flattened onto white."""
    thumb = image.copy()
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    return _encode(thumb, "JPEG", THUMB_OPTIONS)

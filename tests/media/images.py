"""Images for the photo tests, made with Pillow: phone-like JPEGs with GPS EXIF, bombs, junk."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

#: A home address's position that must never leave the phone's file (泗泾镇, made up).
HOME_LAT = (31.0, 7.0, 21.5)
HOME_LON = (121.0, 15.0, 48.25)
SECRET = b"cityops-secret-comment"


def picture(width: int = 640, height: int = 480, mode: str = "RGB") -> Image.Image:
    """A picture with some structure (so the encoder has something to encode)."""
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 8, height // 8, width // 2, height // 2), fill="red")
    draw.ellipse((width // 2, height // 3, width - 10, height - 10), fill="blue")
    return image


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with the phone's make, model, time and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "CityPhone"
    exif[ExifTags.Base.Model] = "Model 7 Pro"
    exif[ExifTags.Base.DateTime] = "2026:06:01 09:30:00"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = HOME_LAT
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = HOME_LON
    return exif


def jpeg_with_gps(width: int = 640, height: int = 480, orientation: int | None = None) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, and a comment."""
    out = io.BytesIO()
    picture(width, height).save(out, "JPEG", quality=90, exif=gps_exif(orientation), comment=SECRET)
    return out.getvalue()


def png_with_text(width: int = 300, height: int = 200) -> bytes:
    """A PNG with alpha, a text chunk and EXIF."""
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    out = io.BytesIO()
    picture(width, height, "RGBA").save(out, "PNG", pnginfo=info, exif=gps_exif())
    return out.getvalue()


def webp_with_exif(width: int = 300, height: int = 200) -> bytes:
    """A WebP with EXIF."""
    out = io.BytesIO()
    picture(width, height).save(out, "WEBP", quality=80, exif=gps_exif())
    return out.getvalue()


def gif() -> bytes:
    """A GIF: a real image, of a format we do not take."""
    out = io.BytesIO()
    picture(64, 64).convert("P").save(out, "GIF")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims an enormous image (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def png_too_many_pixels(width: int = 8000, height: int = 8000) -> bytes:
    """A real 1-bit PNG of 64 megapixels: small on disk, above the platform's pixel limit."""
    out = io.BytesIO()
    Image.new("1", (width, height), 0).save(out, "PNG")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    """The first half of a JPEG."""
    data = jpeg_with_gps()
    return data[: len(data) // 2]

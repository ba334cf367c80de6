"""The manifest of photo storage: upload, download, EXIF removal."""

from cityops.kit.module import Module

module = Module(
    name="media",
    title="图片",
    requires=("auth",),
    routers=("cityops.media.api:router",),
    tables=("cityops.media.models",),
    body_limits=("cityops.media.api:media_body_limits",),
)

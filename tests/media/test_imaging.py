"""Cleaning images directly: damaged input of every kind ends in one of three refusals."""

from __future__ import annotations

import random

import pytest

from cityops.media.imaging import ImageRejected, Limits, process
from tests.media import images

LIMITS = Limits(max_pixels=50_000_000, max_side=4096, thumb_side=320)


def test_mutated_and_truncated_files_are_refused_cleanly() -> None:
    bases = [images.jpeg_with_gps(200, 150), images.png_with_text(100, 80), images.webp_with_exif()]
    outcomes: set[str] = set()
    for seed in range(300):
        rng = random.Random(seed)
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            process(bytes(data[: rng.randint(10, len(data))]), LIMITS)
            outcomes.add("ok")
        except ImageRejected as exc:  # anything else fails the test: it would be a 500
            outcomes.add(exc.kind)
    assert (
        {"corrupt", "unsupported"}
        <= outcomes
        <= {"ok", "corrupt", "unsupported", "too_many_pixels"}
    )


def test_the_pixel_limit_is_read_from_the_header() -> None:
    with pytest.raises(ImageRejected) as refused:
        process(images.png_bomb_header(9_000, 9_000), LIMITS)
    assert refused.value.kind == "too_many_pixels" and "9000×9000" in str(refused.value)
    small = Limits(max_pixels=10_000, max_side=4096, thumb_side=320)
    with pytest.raises(ImageRejected):
        process(images.jpeg_with_gps(200, 100), small)
    assert process(images.jpeg_with_gps(100, 100), small).width == 100

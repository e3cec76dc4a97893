"""Thumbnail uploads: only PNG, JPEG and WebP decode; everything is re-encoded and size-capped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hubapps.core.errors import SpecError
from hubapps.service.thumbnails import THUMBNAIL_HEADERS, ThumbnailStore, reencode

LIMITS = {"max_bytes": 200_000, "max_pixels": 4_000_000, "width": 480, "height": 320}


def _image(fmt: str, size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_images_are_reencoded_to_fit_the_box(fmt: str) -> None:
    thumb = reencode(_image(fmt), **LIMITS)
    assert thumb.content_type == "image/webp"
    assert (thumb.width, thumb.height) == (427, 320)
    assert thumb.ref.startswith("sha256:")
    assert Image.open(io.BytesIO(thumb.data)).format == "WEBP"


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + b"\x00" * 20,
        _image("GIF"),
        _image("BMP"),
        b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",
        b"",
    ],
)
def test_other_content_is_refused(data: bytes) -> None:
    with pytest.raises(SpecError) as info:
        reencode(data, **LIMITS)
    assert info.value.field == "thumbnail"


def test_size_and_pixel_limits() -> None:
    with pytest.raises(SpecError, match="larger than"):
        reencode(b"x" * 300_000, **LIMITS)
    with pytest.raises(SpecError, match="too many pixels"):
        reencode(_image("PNG", (3000, 2000), "L"), **LIMITS)


async def test_store_keeps_images_by_reference() -> None:
    store = ThumbnailStore("sqlite://")
    await store.open()
    try:
        thumb = await store.add(_image("PNG"), **LIMITS)
        again = await store.add(_image("PNG"), **LIMITS)
        assert again.ref == thumb.ref
        got = await store.get(thumb.ref)
        assert got is not None
        assert got.data == thumb.data
        assert await store.get("sha256:" + "0" * 64) is None
        assert await store.get("../../etc/passwd") is None
    finally:
        store.close()


def test_served_headers() -> None:
    assert THUMBNAIL_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert THUMBNAIL_HEADERS["Content-Security-Policy"] == "default-src 'none'; sandbox"

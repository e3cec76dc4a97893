"""Thumbnail uploads: only PNG, JPEG and WebP decode; everything is re-encoded and size-capped."""

from __future__ import annotations

import io
from pathlib import Path

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


async def test_an_image_another_app_lets_go_of_while_a_save_is_under_way_is_kept(tmp_path: Path) -> None:
    """Two workers (two stores on one database file): a save on the first stores an image that app P
    shows already, and while the Hub takes that save, P gets another image on the second worker, which
    deletes the one no app shows any more. The save then claims it for app Q: Q's image is there."""
    url = f"sqlite:///{tmp_path / 'images.sqlite'}"
    saving, other = ThumbnailStore(url), ThumbnailStore(url)
    await saving.open()
    await other.open()
    try:
        shared = await other.check(_image("PNG"), **LIMITS)
        await other.put(shared)
        await other.claim("ann", "p", shared.ref)
        assert await saving.put(shared) is False  # the save on the first worker: already stored
        replacement = await other.add(_image("PNG", (640, 480), "L"), **LIMITS)
        await other.claim("ann", "p", replacement.ref)  # P lets go of the shared image: deleted
        assert await other.get(shared.ref) is None
        await saving.claim("bob", "q", shared.ref)  # the Hub took the save
        kept = await other.get(shared.ref)
        assert kept is not None
        assert kept.data == shared.data
        assert await other.claims("bob") == {"q": shared.ref}
        await other.release("bob", "q")  # and it goes with its last app, as before
        assert await other.get(shared.ref) is None
    finally:
        saving.close()
        other.close()


def test_served_headers() -> None:
    assert THUMBNAIL_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert THUMBNAIL_HEADERS["Content-Security-Policy"] == "default-src 'none'; sandbox"

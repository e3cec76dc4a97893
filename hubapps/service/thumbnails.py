"""App thumbnails: uploads checked and re-encoded with Pillow, stored content-addressed.

An upload is accepted only when Pillow's PNG, JPEG or WebP decoder reads it (never SVG, HTML or a
polyglot that a browser might sniff as something else), is no larger than the configured bytes and
pixels, and is then drawn again into a fresh WebP (or PNG for tiny images with transparency) that fits
the thumbnail box. Only the re-encoded bytes are kept, under ``sha256:<hex>`` of those bytes, in the
service's database, so every replica serves the same images; the launch spec carries only the
reference. Serving adds ``nosniff``, the exact image type and ``CSP: default-src 'none'; sandbox``.

Pillow work is CPU-bound and the database is synchronous: both run in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import time
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps
from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError

from hubapps.core.errors import SpecError
from hubapps.service.db import SqlStore

__all__ = ["REF_PATTERN", "THUMBNAIL_HEADERS", "Thumbnail", "ThumbnailStore", "reencode"]

#: Decoders tried on uploads; nothing else is ever parsed.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
REF_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")

#: Headers of every thumbnail response (plus its exact Content-Type).
THUMBNAIL_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Content-Disposition": "inline",
}

_metadata = MetaData()
_table = Table(
    "hubapps_thumbnails",
    _metadata,
    Column("ref", String(80), primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("created", Float, nullable=False),
)


@dataclass(frozen=True)
class Thumbnail:
    ref: str
    content_type: str
    data: bytes
    width: int
    height: int


def reencode(data: bytes, *, max_bytes: int, max_pixels: int, width: int, height: int) -> Thumbnail:
    """Check an upload and draw it again as a thumbnail; raises :class:`SpecError` on ``thumbnail``.

    Blocking (CPU): call it in a thread.
    """
    if not data:
        raise SpecError("thumbnail", "the file is empty")
    if len(data) > max_bytes:
        raise SpecError("thumbnail", f"the image is larger than {max_bytes // 1024} KiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            if opened.width * opened.height > max_pixels:
                raise SpecError("thumbnail", "the image has too many pixels")
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened)
    except SpecError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SpecError("thumbnail", "must be a PNG, JPEG or WebP image") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=82, method=4)
    content_type = "image/webp"
    encoded = out.getvalue()
    return Thumbnail(
        ref="sha256:" + hashlib.sha256(encoded).hexdigest(),
        content_type=content_type,
        data=encoded,
        width=image.width,
        height=image.height,
    )


class ThumbnailStore(SqlStore):
    """Re-encoded thumbnails by reference, in the service database (table ``hubapps_thumbnails``)."""

    metadata = _metadata

    def _put(self, thumb: Thumbnail) -> None:
        row = {
            "ref": thumb.ref,
            "content_type": thumb.content_type,
            "data": thumb.data,
            "width": thumb.width,
            "height": thumb.height,
            "created": time.time(),
        }
        try:
            with self._engine.begin() as conn:
                if conn.execute(select(_table.c.ref).where(_table.c.ref == thumb.ref)).first() is None:
                    conn.execute(_table.insert().values(**row))
        except IntegrityError:
            pass  # the same image, stored meanwhile by another worker

    def _get(self, ref: str) -> Thumbnail | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_table).where(_table.c.ref == ref)).mappings().first()
        if row is None:
            return None
        return Thumbnail(row["ref"], row["content_type"], bytes(row["data"]), row["width"], row["height"])

    async def add(self, data: bytes, *, max_bytes: int, max_pixels: int, width: int, height: int) -> Thumbnail:
        """Check, re-encode and keep an upload; returns the stored thumbnail (its ``ref`` goes in the spec)."""
        thumb = await asyncio.to_thread(
            reencode, data, max_bytes=max_bytes, max_pixels=max_pixels, width=width, height=height
        )
        await asyncio.to_thread(self._put, thumb)
        return thumb

    async def get(self, ref: str) -> Thumbnail | None:
        if not REF_PATTERN.fullmatch(ref):
            return None
        return await asyncio.to_thread(self._get, ref)

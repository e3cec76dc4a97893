"""App thumbnails: uploads checked and re-encoded with Pillow, stored content-addressed.

An upload is accepted only when Pillow's PNG, JPEG or WebP decoder reads it (never SVG, HTML or a
polyglot that a browser might sniff as something else), is no larger than the configured bytes and
pixels, and is then drawn again into a fresh WebP (or PNG for tiny images with transparency) that fits
the thumbnail box. Only the re-encoded bytes are kept, under ``sha256:<hex>`` of those bytes, in the
service's database, so every replica serves the same images; the launch spec carries only the
reference. Serving adds ``nosniff``, the exact image type and ``CSP: default-src 'none'; sandbox``.

Bounded work: the pixel count is read from the image header (``Image.open`` decodes nothing) and
checked before any decoding, and decoding runs in a pool of its own with ``decode_workers`` threads,
so however many uploads arrive at once, at most that many images are in memory (a 70 KB PNG can hold
24 million pixels, 72 MB decoded). The event loop never waits on Pillow.

Images live only with saved apps: an upload is checked (:meth:`ThumbnailStore.check`), stored
(:meth:`ThumbnailStore.put`) when its app is saved, and recorded as that app's image
(:meth:`ThumbnailStore.claim`); the image an app no longer uses, and the image of a deleted app
(:meth:`ThumbnailStore.release`), is deleted unless another app uses it too.

Saves run concurrently, on several workers and replicas: between the moment a save stores its image
(already there, say, as another app's) and the moment it records it as its app's, that other app may
let go of the image, which is then deleted. So each worker keeps the images it stored last
(:data:`RECENT_IMAGES`, a few small WebP files) and a claim that finds its image gone stores it again.
Every write of the two tables holds one lock (a PostgreSQL advisory lock; SQLite lets one writer at a
time anyway), so an image is never deleted, nor stored twice, between a claim's check and its commit.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import hashlib
import io
import logging
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hubapps.core.errors import SpecError
from hubapps.service.db import SqlStore

__all__ = ["REF_PATTERN", "THUMBNAIL_HEADERS", "Thumbnail", "ThumbnailStore", "reencode"]

log = logging.getLogger("hubapps.service.thumbnails")

#: Decoders tried on uploads; nothing else is ever parsed.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
REF_PATTERN = re.compile(r"sha256:[0-9a-f]{64}")
#: Inline images (of apps stored by upstream JHub Apps) a worker remembers it could not import.
_UNIMPORTABLE_MAX = 10_000
#: Images a worker stored last, kept to store again if another app's release deletes one before the
#: save that stored it claims it (each a re-encoded thumbnail of a few KiB).
RECENT_IMAGES = 64
#: PostgreSQL advisory lock held by every write of the images' tables ("hubapps-images" cut to 63 bits).
_PG_IMAGES_LOCK = 0x687562617070696D

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
#: Which app shows which image (one row per app that has one); an image no row names is deleted.
_uses = Table(
    "hubapps_thumbnail_uses",
    _metadata,
    Column("owner", String(255), primary_key=True),
    Column("server", String(255), primary_key=True),
    Column("ref", String(80), nullable=False, index=True),
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

    The pixel count comes from the header and is checked before anything is decoded. Blocking (CPU):
    call it in a thread (:meth:`ThumbnailStore.check` does, a few at a time).
    """
    from PIL import Image, ImageOps  # (here: Pillow costs the service memory only once an image comes)

    if not data:
        raise SpecError("thumbnail", "the file is empty")
    if len(data) > max_bytes:
        raise SpecError("thumbnail", f"the image is larger than {max_bytes // 1024} KiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)  # reads the header only
            w, h = opened.size
            if w * h > max_pixels:
                raise SpecError(
                    "thumbnail",
                    f"the image has too many pixels: {w}x{h} = {w * h:,}; at most {max_pixels:,} are "
                    "accepted (setting thumbnail_max_pixels)",
                )
            opened.draft("RGB", (width, height))  # JPEG: decode at a reduced scale; others: no-op
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


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] | None = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None
    return trim


def _reencode_and_trim(data: bytes, limits: dict[str, int]) -> Thumbnail:
    """:func:`reencode`, then hand the freed decoding buffers back to the system: glibc keeps freed
    memory in each thread's arena, so a decoded image would otherwise stay in the service's RSS."""
    try:
        return reencode(data, **limits)
    finally:
        trim = _malloc_trim()
        if trim is not None:
            trim(0)


class ThumbnailStore(SqlStore):
    """Re-encoded thumbnails by reference, in the service database (tables ``hubapps_thumbnails`` and
    ``hubapps_thumbnail_uses``). Uploads are decoded by at most ``decode_workers`` threads at once."""

    metadata = _metadata

    def __init__(self, database_url: str, *, decode_workers: int = 2) -> None:
        super().__init__(database_url)
        self._decoder = ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix="hubapps-thumbnail")
        #: Imports under way in this worker, by app, so that listings that follow do not start them again.
        self._imports: dict[tuple[str, str], asyncio.Task[str]] = {}
        #: Sources (sha256 of the inline image) this worker could not import: not decoded again.
        self._unimportable: set[str] = set()
        #: The images this worker stored (or found stored) last, by reference (see the module's docstring).
        self._recent: OrderedDict[str, Thumbnail] = OrderedDict()

    def close(self) -> None:
        self._decoder.shutdown(wait=False, cancel_futures=True)
        super().close()

    # -- blocking parts (run in a thread) ----------------------------------------------------------

    @staticmethod
    def _row(thumb: Thumbnail) -> dict[str, object]:
        return {
            "ref": thumb.ref,
            "content_type": thumb.content_type,
            "data": thumb.data,
            "width": thumb.width,
            "height": thumb.height,
            "created": time.time(),
        }

    def _put(self, thumb: Thumbnail) -> bool:
        try:
            with self._engine.begin() as conn:
                self._lock(conn)
                if conn.execute(select(_table.c.ref).where(_table.c.ref == thumb.ref)).first() is None:
                    conn.execute(_table.insert().values(**self._row(thumb)))
                    return True
        except IntegrityError:
            pass  # the same image, stored meanwhile by another worker
        return False

    def _get(self, ref: str) -> Thumbnail | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_table).where(_table.c.ref == ref)).mappings().first()
        if row is None:
            return None
        return Thumbnail(row["ref"], row["content_type"], bytes(row["data"]), row["width"], row["height"])

    @staticmethod
    def _lock(conn: Connection) -> None:
        """Hold the images' lock until ``conn``'s transaction ends (PostgreSQL; SQLite has one writer)."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_IMAGES_LOCK})")

    @staticmethod
    def _drop_unused(conn: Connection, refs: Iterable[str]) -> None:
        for ref in set(refs):
            if not ref:
                continue
            if conn.execute(select(_uses.c.owner).where(_uses.c.ref == ref).limit(1)).first() is None:
                conn.execute(delete(_table).where(_table.c.ref == ref))

    def _claim(self, owner: str, server: str, ref: str, image: Thumbnail | None) -> None:
        key = (_uses.c.owner == owner) & (_uses.c.server == server)
        with self._engine.begin() as conn:
            self._lock(conn)
            before = conn.execute(select(_uses.c.ref).where(key)).scalar()
            if before == ref:
                return
            conn.execute(delete(_uses).where(key))
            if ref:
                conn.execute(_uses.insert().values(owner=owner, server=server, ref=ref))
                if conn.execute(select(_table.c.ref).where(_table.c.ref == ref)).first() is None:
                    if image is not None:  # deleted since this save stored it: stored again
                        conn.execute(_table.insert().values(**self._row(image)))
                    else:
                        log.warning("%s/%s shows image %s, which is no longer stored", owner[:100], server[:100], ref)
            self._drop_unused(conn, [before or ""])

    def _release(self, owner: str, server: str, also: str) -> None:
        key = (_uses.c.owner == owner) & (_uses.c.server == server)
        with self._engine.begin() as conn:
            self._lock(conn)
            before = conn.execute(select(_uses.c.ref).where(key)).scalar()
            conn.execute(delete(_uses).where(key))
            self._drop_unused(conn, [before or "", also])

    def _claims(self, owner: str) -> dict[str, str]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(_uses.c.server, _uses.c.ref).where(_uses.c.owner == owner)).all()
        return {str(server): str(ref) for server, ref in rows}

    def _discard(self, ref: str) -> None:
        with self._engine.begin() as conn:
            self._lock(conn)
            self._drop_unused(conn, [ref])

    # -- the store's API -----------------------------------------------------------------------------

    async def check(self, data: bytes, *, max_bytes: int, max_pixels: int, width: int, height: int) -> Thumbnail:
        """Check and re-encode an upload (in the decoding pool); nothing is stored."""
        limits = {"max_bytes": max_bytes, "max_pixels": max_pixels, "width": width, "height": height}
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._decoder, _reencode_and_trim, data, limits)

    async def put(self, thumb: Thumbnail) -> bool:
        """Store a checked image; True if it was not stored before (see :meth:`discard`)."""
        self._remember(thumb)
        return await asyncio.to_thread(self._put, thumb)

    def _remember(self, thumb: Thumbnail) -> None:
        self._recent[thumb.ref] = thumb
        self._recent.move_to_end(thumb.ref)
        while len(self._recent) > RECENT_IMAGES:
            self._recent.popitem(last=False)

    async def add(self, data: bytes, *, max_bytes: int, max_pixels: int, width: int, height: int) -> Thumbnail:
        """:meth:`check` and :meth:`put` in one (for an app that is saved in the same step)."""
        thumb = await self.check(data, max_bytes=max_bytes, max_pixels=max_pixels, width=width, height=height)
        await self.put(thumb)
        return thumb

    async def claim(self, owner: str, server: str, ref: str) -> None:
        """Record that the saved app ``owner/server`` shows ``ref`` ("" for none); the image it showed
        before is deleted unless another app shows it too."""
        ref = ref if REF_PATTERN.fullmatch(ref) else ""
        await asyncio.to_thread(self._claim, owner, server, ref, self._recent.get(ref))

    async def claims(self, owner: str) -> dict[str, str]:
        """The images ``owner``'s apps show, by server name (one query)."""
        return await asyncio.to_thread(self._claims, owner)

    def import_once(self, owner: str, server: str, make: Callable[[], Coroutine[None, None, str]]) -> asyncio.Task[str]:
        """Run ``make`` (an import of the app's image) in the background, unless one for the same app
        is under way in this worker; the task is returned either way (awaiting it is optional)."""
        key = (owner, server)
        task = self._imports.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(make())
            self._imports[key] = task
            task.add_done_callback(lambda _t: self._imports.pop(key, None))
        return task

    def unimportable(self, source: str) -> bool:
        """Whether an import of ``source`` failed in this worker before."""
        return source in self._unimportable

    def note_unimportable(self, source: str) -> None:
        if len(self._unimportable) >= _UNIMPORTABLE_MAX:
            self._unimportable.clear()  # a bounded memory: at worst an image is tried once more
        self._unimportable.add(source)

    async def release(self, owner: str, server: str, also: str = "") -> None:
        """The app is deleted: so is its image (and ``also``, the one its spec named), unless another
        app shows it."""
        await asyncio.to_thread(self._release, owner, server, also if REF_PATTERN.fullmatch(also) else "")

    async def discard(self, ref: str) -> None:
        """Delete an image stored for a save that did not happen, unless an app shows it."""
        if REF_PATTERN.fullmatch(ref):
            await asyncio.to_thread(self._discard, ref)

    async def get(self, ref: str) -> Thumbnail | None:
        if not REF_PATTERN.fullmatch(ref):
            return None
        return await asyncio.to_thread(self._get, ref)

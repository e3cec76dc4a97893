"""Images sent with an app through an API (upstream's multipart ``thumbnail``, an inline ``data:`` URL).

Every image is checked and drawn again by the thumbnail store (:mod:`hubapps.service.thumbnails`,
with the admin's size limits) before it is stored; only its reference reaches the launch spec. An
image stored for a save that then fails is discarded again (:func:`discard_image`), so a refused
request keeps nothing.
"""

from __future__ import annotations

import base64
import binascii
import re

from hubapps.core.errors import SpecError
from hubapps.service.operations.caller import Caller
from hubapps.service.thumbnails import Thumbnail

__all__ = ["check_image", "data_url_bytes", "discard_image", "store_image"]

_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)


def data_url_bytes(url: str, max_bytes: int) -> bytes | None:
    """The bytes of a base64 ``data:image/…`` URL (None: not one); longer than ``max_bytes`` decoded
    or broken base64 raises :class:`SpecError` on ``thumbnail``."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    payload = url[match.end() :]
    if len(payload) > 4 * (max_bytes // 3 + 1) + 4:
        raise SpecError("thumbnail", f"the image is larger than {max_bytes // 1024} KiB")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise SpecError("thumbnail", "is not valid base64") from None


async def check_image(caller: Caller, data: bytes) -> Thumbnail:
    """An image checked and drawn again within the admin's limits (not stored); :class:`SpecError` on
    ``thumbnail`` if it is refused."""
    settings = caller.settings
    return await caller.thumbnails.check(
        data,
        max_bytes=settings.thumbnail_max_bytes,
        max_pixels=settings.thumbnail_max_pixels,
        width=settings.thumbnail_width,
        height=settings.thumbnail_height,
    )


async def store_image(caller: Caller, data: bytes) -> tuple[str, bool]:
    """Check, re-encode and store an image; its reference, and whether it was new (then
    :func:`discard_image` it if the save fails)."""
    thumb = await check_image(caller, data)
    return thumb.ref, await caller.thumbnails.put(thumb)


async def discard_image(caller: Caller, ref: str, fresh: bool) -> None:
    """Forget an image stored for a save that did not happen (unless it was stored before, or an app
    shows it)."""
    if fresh and ref:
        await caller.thumbnails.discard(ref)

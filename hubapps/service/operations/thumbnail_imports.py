"""Images that upstream JHub Apps stored inline: imported into the thumbnail store, never blocking a listing.

Upstream kept every app's image in its ``user_options`` as a ``data:`` URL (an upload, or the
framework's logo). hubapps keeps images content-addressed in its own store and specs name them by
``sha256:`` reference, so such an image is imported the first time its owner's listing (or the app's
own page) reads the app: decoded, checked and re-encoded like an upload, stored, and recorded as the
app's image (:meth:`~hubapps.service.thumbnails.ThumbnailStore.claim`). That record is what makes it
idempotent: an app that has one is not imported again, by any worker or replica.

The import runs in the background (at most one per app per worker; Pillow works in the store's own
decoding pool): the listing that finds an image missing answers at once, without it (the page shows
the framework's logo), and the listings after it show the imported image. An image that cannot be
imported (not PNG, JPEG or WebP, too large, broken) is logged and left: the app shows its
framework's logo; the worker remembers it and does not decode it again. The Hub keeps the ``data:``
URL until the app is next saved, when the saved spec carries the reference instead
(:func:`stored_thumbnail`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from hubapps.core.errors import SpecError
from hubapps.service.app_models import editable_options
from hubapps.service.hub_models import ServerModel
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.images import data_url_bytes
from hubapps.service.schemas import AppPublic

__all__ = ["import_thumbnail", "inline_thumbnail", "spec_to_edit", "stored_thumbnail", "with_imported_thumbnails"]

log = logging.getLogger("hubapps.service.thumbnails")


def inline_thumbnail(options: object) -> str:
    """The inline image (``data:image/...``) upstream JHub Apps stored in an app's options, or ""."""
    if not isinstance(options, dict) or "spec_version" in options:
        return ""
    thumbnail = options.get("thumbnail")
    return thumbnail if isinstance(thumbnail, str) and thumbnail.startswith("data:image/") else ""


async def import_thumbnail(caller: Caller, owner: str, server: str, data_url: str) -> str:
    """Store ``data_url``'s image as ``owner/server``'s image; its reference, or "" when it cannot be."""
    settings = caller.settings
    source = hashlib.sha256(data_url.encode()).hexdigest()
    if caller.thumbnails.unimportable(source):
        return ""
    try:
        data = data_url_bytes(data_url, settings.thumbnail_import_max_bytes)
        if data is None:
            raise ValueError("not a base64 data URL")
        thumb = await caller.thumbnails.add(
            data,
            max_bytes=settings.thumbnail_import_max_bytes,
            max_pixels=settings.thumbnail_max_pixels,
            width=settings.thumbnail_width,
            height=settings.thumbnail_height,
        )
    except (SpecError, ValueError) as exc:
        log.info("thumbnail of %s/%s not imported: %s", owner[:100], server[:100], str(exc)[:200])
        caller.thumbnails.note_unimportable(source)
        return ""
    await caller.thumbnails.claim(owner, server, thumb.ref)
    log.info("thumbnail of %s/%s imported as %s", owner[:100], server[:100], thumb.ref)
    return thumb.ref


async def stored_thumbnail(caller: Caller, owner: str, server: str, options: object) -> str:
    """The reference of the app's inline image, imported now if it was not yet ("" if none or it
    cannot be imported): for a save, which writes the reference into the spec the Hub keeps."""
    data_url = inline_thumbnail(options)
    if not data_url:
        return ""
    claimed = (await caller.thumbnails.claims(owner)).get(server)
    if claimed:
        return claimed
    return await caller.thumbnails.import_once(owner, server, lambda: import_thumbnail(caller, owner, server, data_url))


async def spec_to_edit(caller: Caller, owner: str, server: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The stored spec an edit starts from (:func:`~hubapps.service.app_models.editable_options`), with
    an image upstream JHub Apps stored inline as its reference in the store: what the edit saves."""
    current = editable_options(options)
    if not current.get("thumbnail"):
        current["thumbnail"] = await stored_thumbnail(caller, owner, server, options)
    return current


def _shown(app: AppPublic, ref: str) -> AppPublic:
    spec = {**app.spec, "thumbnail": ref} if app.spec is not None else None
    return app.model_copy(update={"thumbnail": ref, "spec": spec})


async def with_imported_thumbnails(
    caller: Caller, owner: str, apps: list[AppPublic], models: Mapping[str, ServerModel]
) -> list[AppPublic]:
    """``apps`` (some of ``owner``'s, with their Hub ``models`` by server name) with the images
    already imported from their inline ``data:`` URLs; imports of the others start in the background."""
    inline = {name: url for name, model in models.items() if (url := inline_thumbnail(model.get("user_options")))}
    if not inline:
        return apps
    claimed = await caller.thumbnails.claims(owner)
    for name, data_url in inline.items():
        if name not in claimed:
            make = functools.partial(import_thumbnail, caller, owner, name, data_url)
            caller.thumbnails.import_once(owner, name, make)
    return [
        _shown(app, claimed[app.name])
        if app.owner == owner and app.name in inline and claimed.get(app.name) and not app.thumbnail
        else app
        for app in apps
    ]

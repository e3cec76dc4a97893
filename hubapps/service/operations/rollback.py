"""Rolling an app back to one of its revisions: an edit (:func:`.lifecycle.apply_edit`) to an earlier spec."""

from __future__ import annotations

from hubapps.core.errors import SpecError
from hubapps.core.spec import parse_user_options
from hubapps.service.app_models import build_spec
from hubapps.service.operations.caller import Caller
from hubapps.service.operations.environments import environments_for
from hubapps.service.operations.files import check_app_file
from hubapps.service.operations.lifecycle import apply_edit
from hubapps.service.operations.revisions import revision_to_apply
from hubapps.service.schemas import Accepted, AppPublic, RollbackRequest

__all__ = ["rollback_app"]


async def rollback_app(
    caller: Caller, owner: str, server: str, number: int, body: RollbackRequest
) -> AppPublic | Accepted:
    """Make revision ``number``'s spec the app's again, as an edit (the same rules as
    :func:`update_app`: a running app only with ``body.restart``), recorded as a new revision.

    The revision's secrets are its sealed values, put back as they were (they are bound to the owner,
    who is the same). Today's rules apply to the old spec: a framework, environment or public flag the
    admin no longer allows is refused, naming the field. An image of the old spec that is no longer
    stored is left out (the framework's logo shows instead). The user's files are not touched.
    """
    model, revision = await revision_to_apply(caller, owner, server, number)
    options = model.get("user_options") or {}
    try:
        current = parse_user_options(options).to_user_options()
    except SpecError:
        current = {}
    fields = dict(revision.spec)
    thumbnail = str(fields.get("thumbnail") or "")
    if thumbnail.startswith("sha256:") and await caller.thumbnails.get(thumbnail) is None:
        fields["thumbnail"] = ""
    spec = build_spec(fields, caller.settings, caller.registry, await environments_for(caller, fields))
    changed = sorted(k for k, v in spec.to_user_options().items() if current.get(k) != v and k != "spec_version")
    if spec.filepath != current.get("filepath") or spec.working_dir != current.get("working_dir"):
        await check_app_file(caller, owner, spec)
    return await apply_edit(caller, owner, server, model, spec, changed, restart=body.restart, rolled_back_to=number)

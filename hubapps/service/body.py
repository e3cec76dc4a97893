"""Reading request bodies: JSON, or a multipart/urlencoded form whose ``data`` field holds the JSON.

One reader for every write route, so bad encodings, bad JSON, deep nesting and unknown fields get the
same answers everywhere (400 for unreadable bodies, 422 naming the field for broken rules). The body
size limit itself is enforced before this, by :class:`hubapps.service.middleware.BodyLimit`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from hubapps.service.errors import BadRequest, InvalidInput

__all__ = ["openapi_body", "read_model", "validated"]

M = TypeVar("M", bound=BaseModel)


def _loads(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    if not text.strip():
        raise BadRequest("the body is empty; send a JSON object")
    try:
        return json.loads(text)
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None


async def _raw_data(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form()
        except AssertionError:
            raise BadRequest("the form could not be read") from None
        if isinstance(form.get("thumbnail"), UploadFile):
            raise InvalidInput("thumbnail uploads are not supported yet", field="thumbnail")
        data = form.get("data")
        if not isinstance(data, str):
            raise BadRequest("the form needs a 'data' field holding the JSON body")
        return _loads(data)
    if content_type not in ("application/json", ""):
        raise BadRequest("send JSON (application/json) or a form with a 'data' field")
    return _loads(await request.body())


async def read_model(request: Request, model: type[M]) -> M:
    """The request's body as ``model``: 400 when it cannot be read, 422 naming the field it breaks."""
    data = await _raw_data(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return validated(model, data)


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, or :class:`InvalidInput` naming the first field it breaks (the answer
    every body gets, whether it came as JSON or was built from a launcher form)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        message = str(first["msg"])
        if first["type"] == "extra_forbidden":
            message = "is not a known field"
        raise InvalidInput(message.removeprefix("Value error, "), field=field) from None


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read by :func:`read_model`."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {"type": "string", "description": "the JSON body"},
                            "_xsrf": {"type": "string"},
                        },
                    }
                },
            },
        }
    }

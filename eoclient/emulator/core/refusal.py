"""One way to refuse a request, rendered in the service's own error shape.

A handler (or anything it calls) raises :class:`Refusal` wherever it finds
something the real service refuses; :func:`~eoclient.emulator.core.routing.contract_middleware`
answers it in the route's shape — Sentinel Hub's, SpaceKnow's, or the route's
own (the Catalog's STAC exception), declared with ``add_route(..., shape=...)``::

    async def _get(request):
        body = await json_body(request)                   # 400 in the service's shape
        if body["id"] not in state.things:
            raise Refusal(404, None, f"thing {body['id']} not found")   # code by status
        ...

Sentinel Hub's payload errors name the parameter (``output->width``) in an
``errors`` list: :func:`invalid` builds that refusal; in SpaceKnow's shape the
same refusal is ``BAD-REQUEST`` with ``"<parameter>: <text>"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.errors import s3_error, sh_error, sk_error
from eoclient.emulator.core.tokens import S3, SENTINELHUB, SPACEKNOW, Service

__all__ = [
    "SHAPES",
    "ErrorShape",
    "Refusal",
    "invalid",
    "json_body",
    "s3_shape",
    "sentinelhub_shape",
    "spaceknow_shape",
]


class Refusal(Exception):
    """A request the service refuses: ``status``, the service's ``code`` (``None``: by status), ``message``.

    ``errors`` is Sentinel Hub's list of ``{"parameter", "invalidValue",
    "violation"}`` details; ``headers`` go on the answer (``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        errors: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code or ''}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers) if headers else None


ErrorShape = Callable[[Refusal], web.Response]
"""Renders a :class:`Refusal` as one service's (or one route's) error answer."""


def sentinelhub_shape(refusal: Refusal) -> web.Response:
    """``{"error": {"status", "reason", "message", "code"[, "errors"]}}``."""
    return sh_error(refusal.status, refusal.message, refusal.code, refusal.errors, headers=refusal.headers)


def spaceknow_shape(refusal: Refusal) -> web.Response:
    """``{"error": CODE, "errorMessage": text}``."""
    return sk_error(refusal.status, refusal.code, refusal.message, headers=refusal.headers)


def s3_shape(refusal: Refusal) -> web.Response:
    """``<Error><Code>NoSuchKey</Code><Message>...</Message>...</Error>`` (the object store's routes)."""
    return s3_error(refusal.status, refusal.code, refusal.message, headers=refusal.headers)


SHAPES: Final[dict[Service, ErrorShape]] = {
    SENTINELHUB: sentinelhub_shape,
    SPACEKNOW: spaceknow_shape,
    S3: s3_shape,
}
"""Each service's own error shape (a route may declare another: the Catalog's)."""


def invalid(parameter: str, value: Any, text: str, *, status: int = 400, code: str | None = None) -> Refusal:
    """A payload error naming the parameter the way Sentinel Hub does (``output->width: must be ...``)."""
    return Refusal(
        status,
        code,
        f"{parameter}: {text}",
        errors=[{"parameter": parameter, "invalidValue": value, "violation": text}],
    )


async def json_body(
    request: web.Request, *, required: bool = True, media_type: bool = False
) -> dict[str, Any]:
    """The request's JSON object body; a :class:`Refusal` when there is none, or it is not a JSON object.

    Absent and not ``required``: ``{}``. With ``media_type`` (the Process
    family), a body that is missing or not sent as ``application/json`` is
    refused with 415, as the service does.
    """
    if media_type and (not request.body_exists or request.content_type != "application/json"):
        raise Refusal(415, "COMMON_UNSUPPORTED_MEDIA_TYPE", "The request body must be application/json")
    if not request.body_exists:
        if required:
            raise Refusal(400, None, "a JSON body is required")
        return {}
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"Malformed JSON: {exc}" if media_type else "the request body must be JSON"
        raise Refusal(400, None, message) from None
    if not isinstance(body, dict):
        # The Process family's renderer capitalizes its messages; the other families do not.
        raise Refusal(400, None, f"{'The' if media_type else 'the'} request body must be a JSON object")
    return body

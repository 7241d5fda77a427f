"""Error responses in each service's own shape.

* Sentinel Hub (``RestErrorWrapper``/``Boom``):
  ``{"error": {"status", "reason", "message", "code"[, "errors"]}}``
* SpaceKnow: ``{"error": "NOT-AUTHORIZED", "errorMessage": "..."}``
* the emulator's object store (S3): ``<Error><Code>NoSuchKey</Code><Message>...</Message>
  <RequestId>...</RequestId></Error>`` as ``application/xml`` (no body on a HEAD, as S3);
* a reverse proxy in front of either: a small ``text/html`` page.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final
from xml.sax.saxutils import escape

from aiohttp import web

from eoclient.emulator.core.tokens import S3, SENTINELHUB, SPACEKNOW, Service

__all__ = ["html_error", "s3_error", "service_error", "sh_error", "sk_error"]

# Sentinel Hub's Boom codes for the statuses the emulator produces by itself.
_SH_CODES: dict[int, str] = {
    400: "COMMON_BAD_PAYLOAD",
    401: "COMMON_UNAUTHORIZED",
    403: "COMMON_INSUFFICIENT_PERMISSIONS",
    404: "COMMON_NOT_FOUND",
    405: "COMMON_METHOD_NOT_ALLOWED",
    415: "COMMON_UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
}

# SpaceKnow's upper-case, dash-separated error codes by status.
_SK_CODES: dict[int, str] = {
    400: "BAD-REQUEST",
    401: "NOT-AUTHORIZED",
    403: "NOT-AUTHORIZED",
    404: "NOT-FOUND",
    405: "METHOD-NOT-ALLOWED",
    409: "CONFLICT",
    429: "RATE-LIMIT-EXCEEDED",
    500: "INTERNAL-ERROR",
    502: "BAD-GATEWAY",
    503: "SERVICE-UNAVAILABLE",
    504: "GATEWAY-TIMEOUT",
}


def reason(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Error"`` if unknown)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def sh_error(
    status: int,
    message: str,
    code: str | None = None,
    errors: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A Sentinel Hub error response; ``code`` defaults by status."""
    body: dict[str, Any] = {
        "status": status,
        "reason": reason(status),
        "message": message,
        "code": code or _SH_CODES.get(status, "COMMON_EXCEPTION"),
    }
    if errors is not None:
        body["errors"] = errors
    return web.json_response({"error": body}, status=status, headers=headers)


def sk_error(
    status: int,
    code: str | None,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A SpaceKnow error response; ``code`` (e.g. ``"NOT-FOUND"``) defaults by status."""
    body = {"error": code or _SK_CODES.get(status, "INTERNAL-ERROR"), "errorMessage": message}
    return web.json_response(body, status=status, headers=headers)


# S3's error codes for the statuses the emulator's store produces by itself.
_S3_CODES: Final[dict[int, str]] = {
    400: "InvalidArgument",
    403: "AccessDenied",
    404: "NoSuchKey",
    405: "MethodNotAllowed",
    412: "PreconditionFailed",
    416: "InvalidRange",
    429: "SlowDown",  # S3 throttles with 503 SlowDown; a 429 fault keeps its status but S3's code
    500: "InternalError",
    503: "SlowDown",
}
_S3_REQUEST_IDS: Final = itertools.count(1)


def s3_error(
    status: int,
    code: str | None,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    resource: Mapping[str, str] | None = None,
) -> web.Response:
    """An S3 error document; ``code`` defaults by status; ``resource`` adds ``<Key>``/``<BucketName>``."""
    request_id = f"EMU{next(_S3_REQUEST_IDS):013X}"
    extra = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in (resource or {}).items())
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code or _S3_CODES.get(status, 'InternalError'))}</Code>"
        f"<Message>{escape(message)}</Message>{extra}<RequestId>{request_id}</RequestId></Error>"
    )
    response = web.Response(status=status, text=document, content_type="application/xml", headers=headers)
    response.headers["x-amz-request-id"] = request_id
    return response


def service_error(
    service: Service,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """An error in ``service``'s shape with the default code for ``status``."""
    if service == SENTINELHUB:
        return sh_error(status, message, headers=headers)
    if service == SPACEKNOW:
        return sk_error(status, None, message, headers=headers)
    assert service == S3
    return s3_error(status, None, message, headers=headers)


def oauth_error(
    status: int, error: str, description: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A token endpoint's error (Keycloak and Auth0 alike): ``{"error", "error_description"}``."""
    return web.json_response(
        {"error": error, "error_description": description}, status=status, headers=headers
    )


def html_error(status: int = 502, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """The kind of ``text/html`` page a reverse proxy answers with."""
    title = f"{status} {reason(status)}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html", headers=headers)

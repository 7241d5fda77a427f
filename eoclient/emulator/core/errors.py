"""Error responses in each service's own shape.

* Sentinel Hub (``RestErrorWrapper``/``Boom``):
  ``{"error": {"status", "reason", "message", "code"[, "errors"]}}``
* SpaceKnow: ``{"error": "NOT-AUTHORIZED", "errorMessage": "..."}``
* a reverse proxy in front of either: a small ``text/html`` page.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from eoclient.emulator.core.tokens import SENTINELHUB, Service

__all__ = ["html_error", "service_error", "sh_error", "sk_error"]

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
    return sk_error(status, None, message, headers=headers)


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

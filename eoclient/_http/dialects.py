"""What differs between services at the transport level: error bodies and ``Retry-After`` units."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = ["OAUTH", "SENTINELHUB", "SPACEKNOW", "ErrorInfo", "ServiceDialect"]


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The service's own description of an error: code, message and structured details."""

    code: str | None = None
    message: str | None = None
    details: Any = None


def _decode(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None


def _text_fallback(body: bytes, content_type: str) -> ErrorInfo:
    """A non-JSON error (an HTML page from a proxy): keep a short, printable excerpt."""
    text = body[:2000].decode("utf-8", "replace")
    if "html" in content_type:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        text = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())[:300]
    return ErrorInfo(code=None, message=text or None)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_sentinelhub_error(body: bytes, content_type: str) -> ErrorInfo:
    """``{"error": {"status", "reason", "message", "code", "errors"}}``.

    Catalog (STAC) errors are ``{"code", "description"}`` instead.
    """
    data = _decode(body)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return ErrorInfo(
                code=_str_or_none(err.get("code") or err.get("reason")),
                message=_str_or_none(err.get("message") or err.get("reason")),
                details=err.get("errors"),
            )
        if "code" in data or "description" in data:  # Catalog (STAC) exceptions
            return ErrorInfo(
                code=_str_or_none(data.get("code")), message=_str_or_none(data.get("description"))
            )
        if isinstance(err, str):
            return ErrorInfo(code=err, message=_str_or_none(data.get("message")))
    return _text_fallback(body, content_type)


def parse_spaceknow_error(body: bytes, content_type: str) -> ErrorInfo:
    """``{"error": "CODE", "errorMessage": "text"}``."""
    data = _decode(body)
    if isinstance(data, dict) and ("error" in data or "errorMessage" in data):
        return ErrorInfo(
            code=_str_or_none(data.get("error")),
            message=_str_or_none(data.get("errorMessage")),
            details=data.get("errorDetails"),
        )
    return _text_fallback(body, content_type)


def parse_oauth_error(body: bytes, content_type: str) -> ErrorInfo:
    """OAuth2 (Keycloak, Auth0): ``{"error": "invalid_client", "error_description": "..."}``."""
    data = _decode(body)
    if isinstance(data, dict) and "error" in data:
        return ErrorInfo(
            code=_str_or_none(data.get("error")),
            message=_str_or_none(data.get("error_description") or data.get("message")),
        )
    return _text_fallback(body, content_type)


@dataclass(frozen=True, slots=True)
class ServiceDialect:
    """Per-service transport conventions.

    ``retry_after_unit`` is the number of seconds one unit of a numeric
    ``Retry-After`` stands for: Sentinel Hub sends milliseconds, everyone else
    the standard seconds.
    """

    name: str
    retry_after_unit: float
    parse_error: Callable[[bytes, str], ErrorInfo]
    # Every 4xx from this endpoint means the credentials were refused.
    auth_endpoint: bool = False


SENTINELHUB = ServiceDialect("sentinelhub", 0.001, parse_sentinelhub_error)
SPACEKNOW = ServiceDialect("spaceknow", 1.0, parse_spaceknow_error)
OAUTH = ServiceDialect("oauth", 1.0, parse_oauth_error, auth_endpoint=True)

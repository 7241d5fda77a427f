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


def _only_keys(data: Any, allowed: frozenset[str]) -> bool:
    return isinstance(data, dict) and bool(data) and set(data) <= allowed


_SH_ERROR_KEYS = frozenset({"error"})
_SK_ERROR_KEYS = frozenset({"error", "errorMessage", "errorDetails"})
_OAUTH_ERROR_KEYS = frozenset({"error", "error_description", "error_uri"})


def sentinelhub_error_document(body: bytes) -> ErrorInfo | None:
    """The error a 2xx body really is (``{"error": {...}}`` and nothing else), or ``None``."""
    data = _decode(body)
    if _only_keys(data, _SH_ERROR_KEYS) and isinstance(data["error"], dict):
        return parse_sentinelhub_error(body, "application/json")
    return None


def spaceknow_error_document(body: bytes) -> ErrorInfo | None:
    """``{"error": "CODE", "errorMessage": "..."}`` sent with a 2xx status, or ``None``."""
    data = _decode(body)
    if _only_keys(data, _SK_ERROR_KEYS) and isinstance(data.get("error"), str):
        return parse_spaceknow_error(body, "application/json")
    return None


def oauth_error_document(body: bytes) -> ErrorInfo | None:
    """``{"error": "invalid_client", ...}`` sent with a 2xx status, or ``None``."""
    data = _decode(body)
    if _only_keys(data, _OAUTH_ERROR_KEYS) and isinstance(data.get("error"), str):
        return parse_oauth_error(body, "application/json")
    return None


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
    # Recognises a 2xx body that is in fact the service's error document.
    error_document: Callable[[bytes], ErrorInfo | None] | None = None


SENTINELHUB = ServiceDialect(
    "sentinelhub", 0.001, parse_sentinelhub_error, error_document=sentinelhub_error_document
)
SPACEKNOW = ServiceDialect("spaceknow", 1.0, parse_spaceknow_error, error_document=spaceknow_error_document)
OAUTH = ServiceDialect(
    "oauth", 1.0, parse_oauth_error, auth_endpoint=True, error_document=oauth_error_document
)

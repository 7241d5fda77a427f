"""Keeping secrets out of logs, reprs and exception text.

Two mechanisms, both always on:

* :class:`Secret` wraps a credential so that ``repr()``/``str()`` never show it;
* every secret value and every token the process obtains is registered here,
  and :func:`scrub` replaces any registered value found in a string. Error
  messages and log events pass through it, so even a server that echoes a
  credential back cannot leak it through eoclient.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "REDACTED",
    "Secret",
    "redact_headers",
    "redact_mapping",
    "register_secret",
    "scrub",
    "scrub_data",
]

REDACTED: Final = "***"

# Keys whose values are never shown, whatever they hold.
_SECRET_KEYS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "client_secret",
        "password",
        "secret",
        "cookie",
        "set-cookie",
        "planetapikey",  # Data Import orders carry the buyer's Planet key
        "api_key",
        "apikey",
    }
)
_BEARER_RE: Final = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
# Very short values would scrub ordinary words; a credential is never this short.
_MIN_SECRET_LEN: Final = 6


class Secret:
    """A credential whose value is only revealed on purpose."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """Return the plain value (for building an auth request, nothing else)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`scrub` removes it from any text."""
    global _pattern  # noqa: PLW0603 - one process-wide registry by design
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value in _known:
            return
        _known.add(value)
        # Longest first so that a secret containing another is removed whole.
        ordered = sorted(_known, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def scrub(text: str) -> str:
    """Replace every registered secret and every bearer token in ``text``."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _BEARER_RE.sub(rf"\1 {REDACTED}", text)


def _scrub_value(key: str, value: Any) -> Any:
    if key.lower() in _SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return redact_mapping(value)
    if isinstance(value, list | tuple):
        return type(value)(_scrub_value("", v) for v in value)
    return value


def scrub_data(value: Any) -> Any:
    """``value`` (JSON-like: strings, mappings, lists) with secret keys masked and secrets scrubbed.

    For what a server sends back: an error document that echoes the
    ``Authorization`` header must not carry the token into an exception.
    """
    return _scrub_value("", value)


def redact_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with secret keys masked and secret values scrubbed, recursively."""
    return {k: _scrub_value(str(k), v) for k, v in data.items()}


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: ``Authorization`` and cookies masked."""
    return {k: (REDACTED if k.lower() in _SECRET_KEYS else scrub(v)) for k, v in headers.items()}

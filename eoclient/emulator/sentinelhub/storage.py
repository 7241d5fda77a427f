"""Object storage locations in emulated Sentinel Hub requests (``{"s3": {...}}`` / ``{"gs": {...}}``).

Shared by the Async Process and Batch Statistical endpoints: how a location is
checked (as the service refuses a bad one: 400 ``COMMON_BAD_PAYLOAD`` naming
the parameter), and the copy of it that may be shown back, without keys.
"""

from __future__ import annotations

import re
from typing import Any, Final

from eoclient.emulator.core.refusal import invalid

__all__ = ["bucket_of", "parse_storage", "public_storage"]

_SCHEMES: Final = {"s3": "s3://", "gs": "gs://"}
_PLACEHOLDER_RE: Final = re.compile(r"<[^<>]*>")
_SECRET_KEYS: Final = frozenset({"accessKey", "secretAccessKey", "credentials"})


def parse_storage(
    value: Any,
    prefix: str,
    *,
    placeholders: frozenset[str] = frozenset(),
    require_one_of: frozenset[str] = frozenset(),
) -> str:
    """Check a location; returns its URL. A bad one raises a ``Refusal``."""
    if not isinstance(value, dict):
        raise invalid(prefix, None, "must not be null")
    kinds = [k for k in ("s3", "gs") if value.get(k) is not None]
    if len(kinds) != 1:
        raise invalid(prefix, None, "exactly one of s3 or gs must be specified")
    kind = kinds[0]
    info = value[kind]
    where = f"{prefix}->{kind}"
    if not isinstance(info, dict):
        raise invalid(where, None, "must be an object")
    url = info.get("url")
    scheme = _SCHEMES[kind]
    if not isinstance(url, str) or not url.startswith(scheme) or not url[len(scheme) :].split("/")[0]:
        raise invalid(f"{where}->url", url, f"must be a {scheme}<bucket>/... URL")
    if kind == "s3":
        has_key, has_secret = info.get("accessKey") is not None, info.get("secretAccessKey") is not None
        if has_key != has_secret:
            raise invalid(where, None, "accessKey and secretAccessKey must be given together")
    elif not isinstance(info.get("credentials"), str) or not info["credentials"]:
        raise invalid(f"{where}->credentials", None, "must not be blank")
    found = _PLACEHOLDER_RE.findall(url)
    unknown = [p for p in found if p not in placeholders]
    if unknown:
        raise invalid(f"{where}->url", url, f"unknown placeholder {unknown[0]}")
    if found and require_one_of and not require_one_of.intersection(found):
        raise invalid(
            f"{where}->url", url, f"a templated URL must contain {' or '.join(sorted(require_one_of))}"
        )
    return url


def public_storage(value: Any) -> Any:
    """A location as the service shows it back: keys and credentials left out."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for kind, info in value.items():
        out[kind] = (
            {k: v for k, v in info.items() if k not in _SECRET_KEYS} if isinstance(info, dict) else info
        )
    return out


def bucket_of(url: str) -> str:
    """The bucket name of an ``s3://`` or ``gs://`` URL."""
    return url.split("://", 1)[-1].split("/", 1)[0]

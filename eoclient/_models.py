"""Model conventions shared by every service module.

* :class:`Model` is the base of wire models: a ``msgspec.Struct`` with camelCase
  names on the wire, tolerant of unknown fields from the server, omitting
  unset optional fields when encoding.
* Wherever a model is accepted, a plain dict pasted from the docs is accepted
  too: :func:`to_wire` turns either into JSON-ready builtins, and
  :func:`from_wire` converts a decoded answer into a model, mapping a shape
  mismatch to :class:`~eoclient.errors.ResponseDecodeError` (from the server)
  or :class:`~eoclient.errors.ValidationError` (from the user).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from eoclient.errors import ResponseDecodeError, ValidationError

__all__ = ["Model", "from_user", "from_wire", "to_wire"]

T = TypeVar("T")


class Model(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of wire models (camelCase on the wire, unknown fields ignored)."""

    def to_dict(self) -> dict[str, Any]:
        """The wire form as a plain dict."""
        out = msgspec.to_builtins(self)
        assert isinstance(out, dict)
        return out


def to_wire(value: Any) -> Any:
    """JSON-ready builtins from a model, a mapping, or a mix (models inside dicts)."""
    return msgspec.to_builtins(value, builtin_types=None, order=None)


def from_wire(data: Any, type_: type[T], *, operation: str = "", path: str = "") -> T:
    """Convert a decoded server answer into ``type_``; a mismatch is the server's fault."""
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        message = f"unexpected response shape: {exc}"
        raise ResponseDecodeError(message, operation=operation, path=path) from exc


def from_user(data: Any, type_: type[T], *, field: str) -> T:
    """Accept a model instance or a docs-style dict from the user; a mismatch names the field.

    Model instances are checked too (msgspec does not check types when a Struct
    is built in code): they go through their wire form like a dict. The error's
    field is a dotted path (``request.output.width``); a missing field is named
    itself (``collection.s3Bucket``).
    """
    if isinstance(data, msgspec.Struct):
        data = msgspec.to_builtins(data)
    if not isinstance(data, Mapping):
        raise ValidationError(field, f"expected a {type_.__name__} or a dict, got {type(data).__name__}")
    try:
        return msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        text, where = str(exc), field
        # msgspec says "... - at `$.output.width`"; turn the path into a dotted field name.
        if " - at `$" in text:
            text, _, loc = text.partition(" - at `$")
            where = field + loc.rstrip("`")
        missing = _MISSING.match(text)
        if missing:
            where, text = f"{where}.{missing.group(1)}", "is required"
        raise ValidationError(where, text) from None


_MISSING = re.compile(r"Object missing required field `([^`]+)`")

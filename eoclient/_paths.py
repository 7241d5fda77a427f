"""URL path segments built from user input or from a service's answers, checked and quoted.

An id or file name put into a URL path must stay one segment: ``..`` would
climb out of the resource (``yarl`` normalises dot segments away), and a ``/``
or ``?`` would change which endpoint is asked. :func:`segment` refuses the
first and quotes the rest; :func:`segments` does the same for a relative path
of several segments (a BYOC file ``"sub/B04.tif"``).
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from eoclient.errors import ValidationError

__all__ = ["segment", "segments"]

_DOT_SEGMENTS: Final = frozenset({".", ".."})


def segment(value: Any, field: str) -> str:
    """``value`` as one quoted path segment; :class:`ValidationError` naming ``field`` otherwise.

    Refused: non-strings, the empty string, ``.`` and ``..``. Everything else
    (``/``, ``?``, ``#``, ``%``, spaces, backslashes) is percent-encoded.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(field, f"must be a non-empty string, got {value!r}")
    if value in _DOT_SEGMENTS:
        raise ValidationError(field, f"must not be {value!r}: it would climb out of the resource")
    return quote(value, safe="")


def segments(value: Any, field: str) -> str:
    """A relative path of one or more segments, each checked and quoted as by :func:`segment`.

    Leading and trailing slashes are ignored; an empty segment (``a//b``), a
    dot segment or a backslash anywhere is refused.
    """
    if not isinstance(value, str) or not value.strip("/"):
        raise ValidationError(field, f"must be a non-empty relative path, got {value!r}")
    if "\\" in value:
        raise ValidationError(field, f"must use '/' between segments, got {value!r}")
    parts = value.strip("/").split("/")
    if any(not p or p in _DOT_SEGMENTS for p in parts):
        raise ValidationError(field, f"must not contain empty, '.' or '..' segments, got {value!r}")
    return "/".join(quote(p, safe="") for p in parts)

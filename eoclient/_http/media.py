"""Media types: which ``Content-Type`` an answer must have for its bytes to be taken as data.

A proxy's HTML page, a JSON error sent with 200, or a PNG where a TIFF was
asked for are not data: the transport compares the answer's type with what the
request expects (:func:`matches`) and refuses the bytes before anyone reads,
writes or caches them.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Collection
from typing import Final

__all__ = [
    "ANY_BINARY",
    "ANY_BUT_PAGE",
    "JSON",
    "excerpt",
    "expected_for_filename",
    "is_json",
    "matches",
    "media_type",
    "type_for_filename",
]

JSON: Final = frozenset({"application/json"})
# What a file store may say for bytes it knows nothing about (S3 answers binary/octet-stream).
ANY_BINARY: Final = frozenset({"application/octet-stream"})

# For a download whose type nobody knows: anything but a web page (a proxy's or a login portal's).
ANY_BUT_PAGE: Final = frozenset({"!text/html", "!application/xhtml+xml"})

# Names that mean the same thing in the wild.
_ALIASES: Final = {
    "application/x-tar": "application/tar",
    "image/jpg": "image/jpeg",
    "image/tif": "image/tiff",
    "binary/octet-stream": "application/octet-stream",
    "application/x-zip-compressed": "application/zip",
    "text/json": "application/json",
}

_ALSO: Final = {"text/csv": ("text/plain",)}

# The type a file of this extension is served as (and the type of a tar member of that name).
_BY_EXTENSION: Final = {
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".geotiff": "image/tiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".csv": "text/csv",
    ".zip": "application/zip",
    ".tar": "application/tar",
    ".zarr": "application/octet-stream",
}


def media_type(header: str | None) -> str:
    """``"image/tiff"`` from ``"Image/TIFF; charset=binary"`` (``""`` when absent)."""
    if not header:
        return ""
    return header.split(";", 1)[0].strip().lower()


def _canonical(media: str) -> str:
    return _ALIASES.get(media, media)


def is_json(media: str) -> bool:
    """``application/json`` and the ``+json`` family (``application/geo+json``, ``problem+json``)."""
    media = _canonical(media_type(media))
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def matches(expected: Collection[str], received: str) -> bool:
    """Whether an answer of type ``received`` is one of ``expected``.

    ``expected`` holds media types, ``type/*`` wildcards or ``*/*``; aliases
    (``application/x-tar``, ``image/jpg``) are equal to their standard names,
    and ``application/json`` accepts the ``+json`` family. An answer without a
    type matches nothing (except ``*/*``). When every entry is a negation
    (``"!text/html"``), anything but those types matches.
    """
    if isinstance(expected, frozenset | tuple):
        return _matches_memo(expected, received)
    return _matches(expected, received)  # a list or set: unhashable, worked out every time


# Asked on every answer, with the same few (expected, Content-Type) pairs.
@functools.lru_cache(maxsize=256)
def _matches_memo(expected: frozenset[str] | tuple[str, ...], received: str) -> bool:
    return _matches(expected, received)


def _matches(expected: Collection[str], received: str) -> bool:
    got = _canonical(media_type(received))
    negated = {_canonical(media_type(w[1:])) for w in expected if w.startswith("!")}
    if negated and len(negated) == len(expected):
        return got not in negated
    for want_raw in expected:
        want = _canonical(media_type(want_raw))
        if want in ("*/*", got):
            return True
        if not got:
            continue
        if want.endswith("/*") and got.startswith(want[:-1]):
            return True
        if want == "application/json" and is_json(got):
            return True
    return False


def type_for_filename(name: str) -> str:
    """The media type of a file by its extension (``application/octet-stream`` when unknown)."""
    return _BY_EXTENSION.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


def expected_for_filename(name: str) -> frozenset[str] | None:
    """The types a file of this name may arrive as (by extension), or ``None`` when unknown.

    A generic binary type is always accepted too: object stores often serve
    files as ``application/octet-stream``. CSV may come as ``text/plain``, and
    any JSON file as any JSON type.
    """
    known = _BY_EXTENSION.get(posixpath.splitext(name)[1].lower())
    if known is None:
        return None
    if is_json(known):
        return JSON | ANY_BINARY
    return frozenset({known, *_ALSO.get(known, ())}) | ANY_BINARY


def excerpt(body: bytes, limit: int = 120) -> str:
    """A short, printable start of ``body`` for an error message."""
    text = body[:limit].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else "." for ch in " ".join(text.split()))
    return text + ("..." if len(body) > limit else "")

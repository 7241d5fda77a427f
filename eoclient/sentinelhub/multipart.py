"""Splitting a multi-response Process API answer into its files.

Several responses come back as a tar archive (``application/tar``,
``application/x-tar``) whose members are named after the response
identifiers with an extension (``default.tif``, ``userdata.json``), or as
``multipart/mixed`` whose parts name them in ``Content-Disposition``. Either
way the result is a mapping *identifier -> part*.
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from eoclient._http import media
from eoclient._models import from_json
from eoclient.arrays import GeoRef, Raster, decode, to_dataarray
from eoclient.errors import ResponseDecodeError, ValidationError

if TYPE_CHECKING:
    import datetime as dt

__all__ = [
    "TAR_TYPES",
    "ResponsePart",
    "content_type_for",
    "identifier_for",
    "parse_multipart",
    "parse_tar",
    "split_response",
]

TAR_TYPES: Final = frozenset({"application/tar", "application/x-tar"})

_PARAM_RE: Final = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


@dataclass(frozen=True, slots=True)
class ResponsePart:
    """One response of a Process answer: its ``identifier``, bytes and media type.

    ``filename`` is the name it had in the archive (``default.tif``), if any.
    """

    identifier: str
    content: bytes
    content_type: str
    filename: str | None = None

    def json(self) -> Any:
        """The content decoded as JSON (``userdata`` is JSON).

        Content that is not JSON is a :class:`~eoclient.errors.ResponseDecodeError`.
        """
        return from_json(self.content, operation="process", what=f"part {self.identifier!r}")

    @property
    def is_image(self) -> bool:
        """Whether the part holds pixels (not JSON: ``userdata`` and JSON outputs are not images)."""
        return self.content_type != "application/json" and not (self.filename or "").endswith(".json")

    def to_raster(
        self, georef: GeoRef | None = None, *, bands: int | None = None, sample_type: str | None = None
    ) -> Raster:
        """The part decoded (:func:`eoclient.arrays.decode`): its array and georeferencing.

        ``georef`` (the request's) places an image without GeoTIFF tags and
        sizes raw ``application/octet-stream`` pixels, which also need the
        band count and ``sample_type`` (``UINT8``, ``UINT16``, ``FLOAT32``) the
        evalscript declared. Needs ``pip install 'eoclient[arrays]'``.
        """
        if not self.is_image:
            raise ValidationError(
                "identifier", f"part {self.identifier!r} is {self.content_type}, not an image: use .json()"
            )
        return decode(
            self.content,
            self.content_type,
            width=georef.width if georef is not None else None,
            height=georef.height if georef is not None else None,
            bands=bands,
            sample_type=sample_type,
            georef=georef,
            source=f"process part {self.identifier!r}",
        )

    def to_numpy(
        self, georef: GeoRef | None = None, *, bands: int | None = None, sample_type: str | None = None
    ) -> Any:
        """The part's pixels as a numpy array, band axis last (see :meth:`to_raster`)."""
        return self.to_raster(georef, bands=bands, sample_type=sample_type).array

    def to_xarray(
        self,
        georef: GeoRef | None = None,
        *,
        time: dt.datetime | None = None,
        band_names: Sequence[str] | None = None,
        bands: int | None = None,
        sample_type: str | None = None,
    ) -> Any:
        """The part as an ``xarray.DataArray`` named by its identifier: ``x``/``y``/``band`` (and ``time``).

        Coordinates come from the GeoTIFF's tags, else from ``georef``.
        Needs ``pip install 'eoclient[xarray]'``.
        """
        raster = self.to_raster(georef, bands=bands, sample_type=sample_type)
        return to_dataarray(raster.array, raster.georef, name=self.identifier, bands=band_names, time=time)


def content_type_for(filename: str) -> str:
    """The media type of an archive member by its extension (``application/octet-stream`` if unknown)."""
    return media.type_for_filename(filename)


def identifier_for(filename: str, identifiers: Iterable[str] = ()) -> str:
    """The response identifier of a member name: ``default.tif`` -> ``default``.

    A requested identifier that matches the name (with or without an
    extension) wins, so identifiers with dots in them map correctly.
    """
    base = posixpath.basename(filename.rstrip("/"))
    matches = [i for i in identifiers if base == i or base.startswith(i + ".")]
    if matches:
        return max(matches, key=len)
    stem, _ = posixpath.splitext(base)
    return stem or base


def parse_tar(body: bytes, identifiers: Sequence[str] = ()) -> dict[str, ResponsePart]:
    """Members of an uncompressed tar as parts keyed by response identifier.

    The archive must be whole: a member with fewer bytes than its header
    announces, or an archive that stops without its end-of-archive blocks
    (``tarfile`` would quietly drop what follows), is a
    :class:`~eoclient.errors.ResponseDecodeError` naming the member.
    """
    parts: dict[str, ResponsePart] = {}
    last: str | None = None  # the member being read, or the last one read
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as archive:
            for member in archive:
                last = member.name
                if not member.isfile():
                    continue
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has content
                data = handle.read()
                if len(data) != member.size:
                    raise _cut_short(
                        f"in member {member.name!r}: its header says {member.size} bytes, {len(data)} arrived"
                    )
                key = identifier_for(member.name, identifiers)
                parts[key] = ResponsePart(key, data, content_type_for(member.name), member.name)
            end = archive.offset  # where the header after the last member starts
    except tarfile.TarError as exc:
        if last is not None:
            raise _cut_short(f"in member {last!r}: {exc}") from exc
        raise ResponseDecodeError(
            f"the answer is not a readable tar archive: {exc}", operation="process"
        ) from exc
    if body[end : end + _TAR_END] != bytes(_TAR_END):
        # tarfile ends its listing silently at a cut or garbled header: the marker proves nothing is lost.
        if last is None:
            raise ResponseDecodeError("the answer is not a whole tar archive", operation="process")
        raise _cut_short(f"after member {last!r}: neither a member nor the end-of-archive blocks follow")
    return parts


_TAR_END: Final = 2 * tarfile.BLOCKSIZE
"""A tar archive ends with two zero blocks."""


def _cut_short(where: str) -> ResponseDecodeError:
    return ResponseDecodeError(f"the tar answer is cut short {where}", operation="process")


def _params(header_value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _PARAM_RE.finditer(";" + header_value.split(";", 1)[1] if ";" in header_value else ""):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        out[match.group(1).lower()] = value.replace('\\"', '"')
    return out


def _next_delimiter(body: bytes, delimiter: bytes, start: int) -> int:
    """Where the next ``CRLF--boundary`` line starts (-1 if none).

    The boundary must end its line (``--`` closes the body; blanks may follow):
    ``--boundary-more`` in the data is data.
    """
    needle = b"\r\n" + delimiter
    pos = start
    while (found := body.find(needle, pos)) >= 0:
        after = found + len(needle)
        line_end = body.find(b"\r\n", after)
        rest = body[after : line_end if line_end >= 0 else len(body)]
        if rest.startswith(b"--") or not rest.strip(b" \t"):
            return found
        pos = found + 1
    return -1


def _check_length(headers: Mapping[str, str], data: bytes, name: str) -> None:
    """A part's ``Content-Length``, when given, must be what the part holds."""
    declared = headers.get("content-length")
    if declared is None:
        return
    if not (declared.isascii() and declared.isdigit()):  # int() would also take "+1_0"
        raise ResponseDecodeError(
            f"multipart part {name!r} has an invalid Content-Length {declared!r}", operation="process"
        )
    expected = int(declared)
    if expected != len(data):
        raise ResponseDecodeError(
            f"multipart part {name!r} holds {len(data)} bytes, its Content-Length says {expected}",
            operation="process",
        )


def parse_multipart(
    body: bytes, content_type: str, identifiers: Sequence[str] = ()
) -> dict[str, ResponsePart]:
    """Parts of a ``multipart/*`` body (boundary from ``content_type``), keyed by identifier.

    A part is named by ``Content-Disposition`` ``name`` (else ``filename``),
    else by its position among the requested ``identifiers``. A body without
    its closing boundary, or a part whose ``Content-Length`` disagrees with
    what it holds, is a :class:`~eoclient.errors.ResponseDecodeError`.
    """
    boundary = _params(content_type).get("boundary")
    if not boundary:
        raise ResponseDecodeError(
            f"multipart answer without a boundary: {content_type!r}", operation="process"
        )
    delimiter = b"--" + boundary.encode("latin-1")
    start = body.find(delimiter)
    if start < 0:
        raise ResponseDecodeError("multipart answer without any part", operation="process")
    parts: dict[str, ResponsePart] = {}
    pos = start + len(delimiter)
    index = 0
    while True:
        if body.startswith(b"--", pos):
            return parts  # the closing delimiter
        pos = body.find(b"\n", pos) + 1  # rest of the delimiter line
        end = _next_delimiter(body, delimiter, pos) if pos > 0 else -1
        if end < 0:
            raise ResponseDecodeError(
                "multipart answer ends before its closing boundary", operation="process"
            )
        raw = body[pos:end]
        if raw.startswith(b"\r\n"):
            head, data = b"", raw[2:]  # a part without headers
        else:
            head, sep, data = raw.partition(b"\r\n\r\n")
            if not sep:
                raise ResponseDecodeError("multipart part without a header block", operation="process")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""))
        filename = disposition.get("filename")
        name = disposition.get("name")
        if name is None and filename is not None:
            name = identifier_for(filename, identifiers)
        if name is None:
            name = identifiers[index] if index < len(identifiers) else f"part{index}"
        _check_length(headers, data, name)
        ctype = headers.get("content-type") or content_type_for(filename or "")
        parts[name] = ResponsePart(name, data, ctype.split(";")[0].strip().lower(), filename)
        index += 1
        pos = end + 2 + len(delimiter)


def split_response(body: bytes, content_type: str, identifiers: Sequence[str]) -> dict[str, ResponsePart]:
    """Parts of a Process answer of any media type; a single answer is one part."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media in TAR_TYPES:
        return parse_tar(body, identifiers)
    if media.startswith("multipart/"):
        return parse_multipart(body, content_type, identifiers)
    identifier = identifiers[0] if identifiers else "default"
    return {identifier: ResponsePart(identifier, body, media)}

"""What an upload needs around its requests: checked keys and files, part sizes, digests, a stoppable reader.

Nothing here talks to the store; :mod:`eoclient.storage.store` does.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import re
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from eoclient.errors import ValidationError

if TYPE_CHECKING:
    from eoclient.storage.objects import StoredObject

MIB: Final = 1 << 20
PART_SIZE: Final = 8 * MIB  # one PUT up to this size; above it, parts of at least this size
MAX_PARTS: Final = 10_000  # S3's limit on the parts of one upload
# Parts in flight per upload. Peak RSS growth measured for 64 and 256 MiB files: 76-92 MiB (1 part in
# flight: 52); obstore reading the file itself: 68. Independent of the file's size.
PARALLEL_PARTS: Final = 4
MAX_KEY_BYTES: Final = 1024  # S3's limit on a key
METADATA_MD5: Final = "eoclient-md5"
"""The user metadata (``x-amz-meta-eoclient-md5``) every upload carries: the content's MD5 (hex).

A rerun compares it where the ETag is not the MD5: buckets with SSE-KMS (or SSE-C)
encryption, multipart uploads of any part size.
"""
_MULTIPART_ETAG: Final = re.compile(r'^"?([0-9a-fA-F]{32})-(\d+)"?$')
_CONTENT_TYPE: Final = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;[ -~]*)?$")
_BLOCK: Final = MIB


def check_key(key: object, field: str = "key") -> str:
    """``key`` if S3 (and obstore's paths) take it as one object's name, else a ValidationError."""
    if not isinstance(key, str) or not key:
        raise ValidationError(field, "must be a non-empty string")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValidationError(field, f"{key!r}: no '.' or '..' segments, no leading, trailing or doubled '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise ValidationError(field, f"{key!r}: control characters are not allowed")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValidationError(field, f"longer than S3's {MAX_KEY_BYTES} bytes")
    return key


def check_source(src: object, field: str = "src") -> tuple[Path, int]:
    """The local file to upload and its size; a ValidationError when it is no readable regular file."""
    if not isinstance(src, str | os.PathLike) or not str(src):
        raise ValidationError(field, f"expected a path to a file, got {src!r}")
    path = Path(src)
    try:
        info = path.stat()
    except OSError:
        raise ValidationError(field, f"{path}: no such file") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(field, f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise ValidationError(field, f"{path}: not readable")
    return path, info.st_size


def check_prefix(prefix: object) -> str:
    """A key prefix for a directory's files: "" or text that keys may start with (``out/``, ``run-1/``)."""
    if not isinstance(prefix, str):
        raise ValidationError("prefix", f"expected a string, got {prefix!r}")
    if prefix:
        try:
            check_key(prefix + "x", "prefix")
        except ValidationError:
            raise ValidationError(
                "prefix", f"{prefix!r} cannot begin an S3 key (no '.', '..' or empty segments)"
            ) from None
    return prefix


def check_dir(local_dir: object) -> Path:
    """An existing local directory, else a ValidationError."""
    if not isinstance(local_dir, str | os.PathLike) or not str(local_dir):
        raise ValidationError("local_dir", f"expected a path to a directory, got {local_dir!r}")
    path = Path(local_dir)
    if not path.is_dir():
        raise ValidationError("local_dir", f"{path}: no such directory")
    return path


def scan(directory: Path) -> tuple[list[Path], list[Path]]:
    """The files and subdirectories of ``directory``, by name; no ``.part`` files (still being written).

    Symbolic links to directories are not followed (no cycles); links to files are.
    """
    files, dirs = [], []
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                dirs.append(Path(entry.path))
            elif entry.is_file() and not entry.name.endswith(".part"):
                files.append(Path(entry.path))
    return files, dirs


def check_content_type(content_type: object, key: str) -> str | None:
    """The ``Content-Type`` to store: the one given, else guessed from the key's extension (or None)."""
    if content_type is None:
        return mimetypes.guess_type(key, strict=False)[0]
    if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
        raise ValidationError(
            "content_type", f"expected a media type like 'image/tiff', got {content_type!r}"
        )
    return content_type


def part_size(size: int) -> int:
    """The part size of a multipart upload of ``size`` bytes: at least PART_SIZE, at most MAX_PARTS parts."""
    need = -(-size // MAX_PARTS)
    return max(PART_SIZE, -(-need // MIB) * MIB)


def file_md5(path: Path) -> str:
    """The MD5 (hex) of the file's bytes, read in blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def same_file(obj: StoredObject, path: Path, size: int, md5: str, stored_md5: str | None) -> bool:
    """True when ``obj`` holds the bytes of ``path`` (whose MD5 is ``md5``).

    The object must have the file's size, and then: its ETag is that MD5 (a
    single PUT without SSE-KMS), or the MD5 eoclient stored with it
    (``stored_md5``, its :data:`METADATA_MD5`) is, or its multipart ETag (MD5
    of the parts' MD5s, ``-N``) matches the file cut in parts of this module's
    size or of the common tools' sizes (5 and 8 MiB).
    """
    if obj.size != size:
        return False
    if obj.checksum == md5:
        return True
    if stored_md5 is not None:
        return stored_md5 == md5
    match = _MULTIPART_ETAG.match(obj.etag or "")
    if match is None:
        return False
    parts = int(match.group(2))
    for candidate in dict.fromkeys((part_size(size), 8 * MIB, 5 * MIB, 16 * MIB)):
        if -(-size // candidate) == parts and _multipart_etag(path, candidate) == match.group(1).lower():
            return True
    return False


def same_bytes(obj: StoredObject, md5: str, stored_md5: str | None, size: int) -> bool:
    """True when ``obj`` holds a payload of ``size`` bytes whose MD5 is ``md5`` (as :func:`same_file`)."""
    if obj.size != size:
        return False
    return md5 in (obj.checksum, stored_md5)


def _multipart_etag(path: Path, part: int) -> str:
    """S3's ETag of ``path`` uploaded in parts of ``part`` bytes (without its ``-N``)."""
    whole = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while True:
            digest = hashlib.md5(usedforsecurity=False)
            left = part
            while left and (block := fh.read(min(_BLOCK, left))):
                digest.update(block)
                left -= len(block)
            if left == part:
                break
            whole.update(digest.digest())
    return whole.hexdigest()


class UploadStoppedError(Exception):
    """Raised inside obstore's reading of a file whose upload was cancelled: obstore then aborts it."""


class StoppableFile(io.FileIO):
    """The file obstore reads the parts from; once ``stop`` is set, its next read fails.

    obstore aborts a multipart upload when reading its input fails, but not
    when its future is dropped (a cancelled task would leave the parts
    uploaded so far billed and invisible). A cancelled upload sets ``stop``
    and waits for that abort instead.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.stop = threading.Event()

    def read(self, size: int | None = -1, /) -> bytes:
        if self.stop.is_set():
            raise UploadStoppedError("upload cancelled")
        return super().read(size) or b""


__all__ = [
    "MAX_PARTS",
    "METADATA_MD5",
    "PARALLEL_PARTS",
    "PART_SIZE",
    "StoppableFile",
    "UploadStoppedError",
    "check_content_type",
    "check_dir",
    "check_prefix",
    "check_key",
    "file_md5",
    "check_source",
    "part_size",
    "same_bytes",
    "same_file",
    "scan",
]

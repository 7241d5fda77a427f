"""What a store holds: :class:`StoredObject`, one object's key, size, ETag, time and checksum."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

from eoclient.storage import _backend

__all__ = ["StoredObject"]

_MD5: Final = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object in a store: its key (relative to the store's prefix), size, ETag, time, checksum.

    ``checksum`` is the MD5 (hex) of the content when the ETag is one (a
    single-part upload), else None.
    """

    key: str
    size: int
    etag: str | None
    last_modified: dt.datetime
    checksum: str | None = None

    @classmethod
    def from_meta(cls, meta: Any) -> StoredObject:
        etag = meta.get("e_tag")
        match = _MD5.match(etag) if etag else None
        return cls(
            key=meta["path"],
            size=int(meta["size"]),
            etag=etag,
            last_modified=_backend.as_stored_time(meta["last_modified"]),
            checksum=match.group(1).lower() if match else None,
        )

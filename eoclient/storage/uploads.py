"""Bulk uploads' work items and report: the upload side of :mod:`eoclient.bulk`'s work items and report."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoclient.bulk import Report
from eoclient.errors import EOClientError, ValidationError

if TYPE_CHECKING:
    from eoclient.storage.objects import StoredObject

__all__ = ["BulkUploadError", "Upload", "UploadFailure", "UploadItems", "UploadReport", "Uploaded"]


@dataclass(frozen=True, slots=True)
class Upload:
    """One work item: the local file ``src`` as the object ``key`` (``content_type``: see ``upload``)."""

    src: Path
    key: str
    content_type: str | None = None

    @classmethod
    def of(cls, item: Upload | tuple[Any, ...]) -> Upload:
        """An :class:`Upload` from itself or a ``(src, key)`` tuple."""
        if isinstance(item, Upload):
            return item
        if isinstance(item, tuple) and len(item) == 2:
            src, key = item
            if isinstance(src, str | os.PathLike) and isinstance(key, str):
                return cls(Path(src), key)
        raise ValidationError("items", f"expected an Upload or a (src: path, key: str) tuple, got {item!r}")


UploadItems = AsyncIterable[Upload | tuple[Any, ...]] | Iterable[Upload | tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Uploaded:
    """A file now in the store: from where, under which key, how many bytes, or skipped as already there."""

    path: Path
    key: str
    bytes: int
    skipped: bool = False
    object: StoredObject | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UploadFailure:
    """A work item that could not be uploaded, with the typed error that ended it."""

    item: Upload
    error: Exception


@dataclass(repr=False)
class UploadReport(Report[Uploaded, UploadFailure]):
    """The outcome of ``upload_prefix`` (lists in completion order), shaped like ``bulk.BulkReport``."""

    @property
    def uploaded(self) -> list[Uploaded]:
        """Files sent in this run."""
        return [f for f in self.files if not f.skipped]

    def add(self, outcome: Uploaded | UploadFailure) -> None:
        """Record one outcome of ``upload_each``."""
        if isinstance(outcome, UploadFailure):
            self.failures.append(outcome)
        else:
            self.files.append(outcome)

    def raise_for_failures(self) -> None:
        """Raise :class:`BulkUploadError` if any item failed."""
        if self.failures:
            raise BulkUploadError(self)


class BulkUploadError(EOClientError):
    """Some items of a bulk upload failed; ``report`` holds everything, ``failures`` the errors."""

    def __init__(self, report: UploadReport) -> None:
        self.report = report
        self.failures = report.failures
        first = report.failures[0]
        super().__init__(
            f"{len(report.failures)} of {len(report.files) + len(report.failures)} uploads failed; "
            f"first: {first.item.key}: {first.error}"
        )

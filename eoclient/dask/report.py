"""What a cluster run reports: progress after each item, and the report at the end."""

from __future__ import annotations

from dataclasses import dataclass, field

from eoclient.bulk import BulkReport, Downloaded, Failure

__all__ = ["ClusterReport", "Progress"]


@dataclass
class Progress:
    """Where a run stands, after each item: passed to ``on_progress`` (one object, updated in place)."""

    total: int
    done: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    requests: int = 0
    processing_units: float = 0.0
    last: Downloaded | Failure | None = None

    def count(self, outcome: Downloaded | Failure) -> None:
        """Add one item's outcome."""
        self.done += 1
        self.last = outcome
        if isinstance(outcome, Failure):
            self.failed += 1
        elif outcome.skipped:
            self.skipped += 1
        else:
            self.downloaded += 1
            self.bytes += outcome.bytes


@dataclass
class ClusterReport(BulkReport):
    """A :class:`~eoclient.bulk.BulkReport` of a cluster run, with the requests and PU it cost."""

    requests: int = 0
    processing_units: float = 0.0
    workers: dict[str, int] = field(default_factory=dict)
    """Items each worker completed (chunks whose worker died count where they were run again)."""

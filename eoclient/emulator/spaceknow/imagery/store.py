"""The state of the emulated Imagery: failures injected for tests, and what was ingested."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eoclient.emulator.core.state import EmulatorState

__all__ = ["ImageryStore", "fail_next", "imagery_store", "pop_failure"]


@dataclass
class ImageryStore:
    """This emulator's imagery bookkeeping: injected failures and what was ingested."""

    failures: dict[str, list[str]] = field(default_factory=dict)
    ingests: list[dict[str, Any]] = field(default_factory=list)


def imagery_store(state: EmulatorState) -> ImageryStore:
    """The :class:`ImageryStore` of this emulator."""
    return state.store("sk_imagery", ImageryStore)


def fail_next(state: EmulatorState, operation: str, error: str) -> None:
    """Make the next pipeline of ``operation`` (``"imagery/search"``, ``"imagery/get-image"``) end FAILED."""
    imagery_store(state).failures.setdefault(operation, []).append(error)


def pop_failure(state: EmulatorState, operation: str) -> str | None:
    """The next injected failure of ``operation``, if any (taken off the queue)."""
    queue = imagery_store(state).failures.get(operation)
    return queue.pop(0) if queue else None

"""The state of the emulated Imagery: failures injected for tests, what was ingested, exported images."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from eoclient.emulator.core.state import EmulatorState

__all__ = ["ExportSpec", "ImageryStore", "fail_next", "imagery_store", "pop_failure"]


@dataclass(frozen=True)
class ExportSpec:
    """What decides an exported image's bytes: the scene, the area (lon/lat), the pixel size, the bands."""

    scene_id: str
    bounds: tuple[float, ...]
    width: int
    height: int
    samples: int


@dataclass
class ImageryStore:
    """This emulator's imagery bookkeeping: injected failures, what was ingested, exported images.

    ``export_origin`` (a test knob) is the origin get-image links point to
    (default: the SpaceKnow app's own); ``exports`` the images by pipeline id,
    ``rendered`` the bytes of the last ones served.
    """

    failures: dict[str, list[str]] = field(default_factory=dict)
    ingests: list[dict[str, Any]] = field(default_factory=list)
    export_origin: str | None = None
    exports: dict[str, ExportSpec] = field(default_factory=dict)
    rendered: OrderedDict[str, tuple[bytes, str]] = field(default_factory=OrderedDict)


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

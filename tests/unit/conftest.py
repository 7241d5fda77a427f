"""Unit-test setup.

aioresponses 0.7.9 builds ``ClientResponse`` objects without the
``stream_writer`` argument that aiohttp 3.14 requires. Until it catches up,
its response class is swapped for a subclass that supplies a finished writer;
nothing else of aioresponses or aiohttp changes.
"""

from __future__ import annotations

from typing import Any

import aioresponses.core
from aiohttp import ClientResponse


class _FinishedWriter:
    output_size = 0


class _CompatClientResponse(ClientResponse):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _FinishedWriter())
        super().__init__(*args, **kwargs)


if "stream_writer" in ClientResponse.__init__.__code__.co_varnames:
    aioresponses.core.ClientResponse = _CompatClientResponse  # type: ignore[misc]

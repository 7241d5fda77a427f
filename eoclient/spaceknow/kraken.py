"""SpaceKnow Kraken (being written)."""

from __future__ import annotations

from eoclient._client import BaseClient

__all__ = ["Kraken"]


class Kraken:
    """Reached as an attribute of :class:`~eoclient.SpaceKnow`."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

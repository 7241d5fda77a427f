"""SpaceKnow Credits (being written)."""

from __future__ import annotations

from eoclient._client import BaseClient

__all__ = ["Credits"]


class Credits:
    """Reached as an attribute of :class:`~eoclient.SpaceKnow`."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

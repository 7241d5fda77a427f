"""Sentinel Hub BatchStatistics (being written)."""

from __future__ import annotations

from eoclient._client import BaseClient

__all__ = ["BatchStatistics"]


class BatchStatistics:
    """Reached as an attribute of :class:`~eoclient.SentinelHub`."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

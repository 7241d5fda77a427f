"""Sentinel Hub BYOC (being written)."""

from __future__ import annotations

from eoclient._http.transport import Transport

__all__ = ["BYOC"]


class BYOC:
    """Reached as an attribute of :class:`~eoclient.SentinelHub`."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

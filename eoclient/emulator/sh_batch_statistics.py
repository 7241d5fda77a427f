"""Emulated Sentinel Hub BatchStatistics endpoints (being written)."""

from __future__ import annotations

from aiohttp import web

from eoclient.emulator.state import EmulatorState

__all__ = ["setup"]


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add this family's routes to the Sentinel Hub app."""

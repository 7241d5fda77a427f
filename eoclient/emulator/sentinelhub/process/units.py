"""Sentinel Hub's processing units: the formula, and the header that reports them."""

from __future__ import annotations

from typing import Final

__all__ = ["PU_HEADER", "processing_units"]

PU_HEADER: Final = "x-processingunits-spent"


def processing_units(
    width: int, height: int, bands: int, *, float32: bool, collections: int, samples: int
) -> float:
    """Sentinel Hub's PU formula."""
    area = max(width * height / (512 * 512), 0.01)
    return max(area * bands / 3 * (2 if float32 else 1) * collections * samples, 0.005)

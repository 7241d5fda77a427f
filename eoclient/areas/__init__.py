"""A large area as tiles the Process API can render: see :func:`split_area`.

Pure Python (no geometry library): :mod:`eoclient.areas.split` lays the
tiles on one pixel grid per CRS, :mod:`eoclient.areas.polygons` measures how
much of the area falls in each.
"""

from eoclient.areas.split import MAX_TILE_PIXELS, AreaSplit, AreaTile, MosaicGrid, split_area

__all__ = ["MAX_TILE_PIXELS", "AreaSplit", "AreaTile", "MosaicGrid", "split_area"]

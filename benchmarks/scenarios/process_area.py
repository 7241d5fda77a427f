"""process-area: a 10 km x 10 km area at 10 m (1000x1000 px around Ljubljana) in tiles, mosaicked.

The area is a polygon given in WGS84 (the corners of a UTM 33N square, 50 m
inside the 2.5 km grid, so that both splitters find the same 16 tiles of
250x250 px); every tile asks for the same 3-band UINT8 evalscript.

eoclient: ``sh.process_area(request, geometry, resolution=10, tile_size=2500,
concurrency=8)`` splits the area, runs the tiles through the bulk engine and
returns one mosaicked ``xarray.DataArray`` with x/y coordinates and a CRS.

sentinelhub-py has no such call; what its user writes (its splitter, a request
per tile, its download client, and the mosaic by hand)::

    splitter = UtmZoneSplitter([polygon], CRS.WGS84, bbox_size=2500)
    bboxes = splitter.get_bbox_list()
    requests = [
        SentinelHubRequest(evalscript=..., input_data=[...], responses=[...],
                           bbox=bbox, size=bbox_to_dimensions(bbox, 10), config=config)
        for bbox in bboxes
    ]
    arrays = SentinelHubDownloadClient(config=config).download(
        [r.download_list[0] for r in requests], max_threads=8)   # decode_data=True: numpy
    # the mosaic, by hand: each tile's place on the 10 m grid from its bbox
    min_x, max_y = min(b.min_x for b in bboxes), max(b.max_y for b in bboxes)
    mosaic = np.zeros((rows, cols, bands), arrays[0].dtype)
    for bbox, array in zip(bboxes, arrays):
        row, col = round((max_y - bbox.max_y) / 10), round((bbox.min_x - min_x) / 10)
        mosaic[row:row + array.shape[0], col:col + array.shape[1]] = array

(a plain array: the coordinates and the CRS are the user's to keep). Its
download client paces requests (see the README); a diagnostic row turns that
off. A reference row of eoclient asks for the whole square as one request.

The check: the emulator's pixels are a function of map coordinates, so every
mosaic must hold the same pixels over the window they all cover (the square
less 100 m a side), each placed by its own origin. The mosaics' edges may
differ (sentinelhub-py's covers whole tiles; eoclient's may be cropped to the
area's bounds): their shape and origin are printed under the table.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import TIME_FROM, TIME_TO, evalscript
from benchmarks.spec import Facts, Params, Row, Scenario

SCRIPT = evalscript(3, "UINT8")
UTM33N = 32633
# The 10 km square's UTM 33N corners: on a 2.5 km grid from the zone's origin, as both splitters align.
SQUARE = (460_000.0, 5_095_000.0, 470_000.0, 5_105_000.0)
INSET = 50.0  # the polygon lies this far inside the square: no splitter finds a sliver of a neighbour


def _square(params: Params) -> tuple[float, float, float, float]:
    """The area's UTM square for ``side`` metres (quick mode asks for a smaller one, same corner)."""
    x0, y0 = SQUARE[0], SQUARE[1]
    return (x0, y0, x0 + params["side"], y0 + params["side"])


def _polygon(params: Params) -> list[tuple[float, float]]:
    """The area as a user gives it: a WGS84 polygon, 6 decimals (around Ljubljana for 10 km)."""
    from eoclient.geo import utm_to_wgs84  # noqa: PLC0415

    x0, y0, x1, y1 = _square(params)
    x0, y0, x1, y1 = x0 + INSET, y0 + INSET, x1 - INSET, y1 - INSET
    ring = []
    for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]:
        lon, lat = utm_to_wgs84(x, y, UTM33N)
        ring.append((round(lon, 6), round(lat, 6)))
    return ring


def _geometry(params: Params) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in _polygon(params)]]}


def _data() -> list[dict[str, Any]]:
    return [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": TIME_FROM, "to": TIME_TO}}}]


def _area_request() -> dict[str, Any]:
    """The user's Process request without bounds or size: ``process_area`` sets them per tile."""
    return {
        "input": {"data": _data()},
        "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": SCRIPT,
    }


def _whole_request(params: Params) -> dict[str, Any]:
    """The whole square as one request (the reference), in UTM 33N."""
    pixels = int(params["side"] / params["resolution"])
    return {
        "input": {
            "bounds": {
                "bbox": list(_square(params)),
                "properties": {"crs": f"http://www.opengis.net/def/crs/EPSG/0/{UTM33N}"},
            },
            "data": _data(),
        },
        "output": {
            "width": pixels,
            "height": pixels,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": SCRIPT,
    }


def _window(params: Params) -> tuple[float, float, float, float]:
    """The part of the area every mosaic covers, whatever its edges: the square less 100 m a side."""
    x0, y0, x1, y1 = _square(params)
    return (x0 + 2 * INSET, y0 + 2 * INSET, x1 - 2 * INSET, y1 - 2 * INSET)


def _record(ctx: Context, array: Any, left: float, top: float, tiles: int) -> None:
    """What the rows must agree on: the pixels of the common window, placed by each mosaic's own origin.

    Mosaics may differ at their edges (whole tiles, or cropped to the area's
    bounds): the shape and origin are shown under the table, not compared.
    """
    import numpy as np  # noqa: PLC0415

    res = ctx.params["resolution"]
    x0, y0, x1, y1 = _window(ctx.params)
    row, col = round((top - y1) / res), round((x0 - left) / res)
    rows, cols = round((y1 - y0) / res), round((x1 - x0) / res)
    window = np.ascontiguousarray(array[row : row + rows, col : col + cols])
    assert window.shape[:2] == (rows, cols), f"the mosaic {array.shape} does not cover the window"
    ctx.fact(window="x".join(map(str, window.shape)), dtype=str(window.dtype))
    ctx.fact(sha256=hashlib.sha256(window.tobytes()).hexdigest()[:16])
    ctx.fact(tiles=tiles, mosaic="x".join(map(str, array.shape)), origin=f"({left:.0f}, {top:.0f})")


def _figures(facts: Facts) -> str:
    return f"{facts.get('tiles')} tiles; mosaic {facts.get('mosaic')} from {facts.get('origin')} (UTM 33N)"


def eoclient_process_area(ctx: Context) -> None:
    p = ctx.params
    geometry = _geometry(p)

    async def area(sh: Any, geometry: dict[str, Any]) -> Any:
        return await sh.process_area(
            _area_request(),
            geometry,
            resolution=p["resolution"],
            tile_size=p["tile"],
            concurrency=p["concurrency"],
        )

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await area(sh, _geometry({**p, "side": 500}))  # warm-up: token, connection, imports; one tile
            for _ in ctx.repeats():
                with ctx.timed():
                    result = await area(sh, geometry)
                _record_dataarray(ctx, result.data, len(result.split))
                del result

    asyncio.run(main())


def _record_dataarray(ctx: Context, mosaic: Any, tiles: int) -> None:
    res = ctx.params["resolution"]
    left, top = float(mosaic.x[0]) - res / 2, float(mosaic.y[0]) + res / 2
    _record(ctx, mosaic.transpose("y", "x", "band").values, left, top, tiles)


def _tiles(params: Params) -> int:
    per_side = -(-params["side"] // params["tile"])
    return int(per_side * per_side)


def eoclient_one_request(ctx: Context) -> None:
    p = ctx.params

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            (await sh.process(_whole_request({**p, "side": 200}))).to_numpy()  # warm-up: imports too
            for _ in ctx.repeats():
                with ctx.timed():
                    result = await sh.process(_whole_request(p))
                    array = result.to_numpy()
                x0, _, _, y1 = _square(p)
                _record(ctx, array, x0, y1, 1)
                del result, array

    asyncio.run(main())


def _sentinelhub(ctx: Context, *, paced: bool = True) -> None:
    import numpy as np  # noqa: PLC0415 - sentinelhub-py's dependency
    from sentinelhub import (  # noqa: PLC0415 - the peer is optional
        CRS,
        MimeType,
        SentinelHubDownloadClient,
        SentinelHubRequest,
        UtmZoneSplitter,
        bbox_to_dimensions,
    )
    from shapely.geometry import Polygon  # noqa: PLC0415

    from benchmarks.peers import sentinel2_l2a, sentinelhub_config, unpaced  # noqa: PLC0415

    p = ctx.params
    res, tile_m, polygon = p["resolution"], p["tile"], _polygon(p)
    config = sentinelhub_config(ctx.info)
    collection = sentinel2_l2a(ctx.info["sentinelhub_url"])
    client = SentinelHubDownloadClient(config=config)
    if not paced:
        unpaced(client)

    def request(bbox: Any) -> Any:
        return SentinelHubRequest(
            evalscript=SCRIPT,
            input_data=[SentinelHubRequest.input_data(collection, time_interval=(TIME_FROM, TIME_TO))],
            responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
            bbox=bbox,
            size=bbox_to_dimensions(bbox, res),
            config=config,
        )

    def area() -> Any:
        splitter = UtmZoneSplitter([Polygon(polygon)], CRS.WGS84, bbox_size=tile_m)
        bboxes = splitter.get_bbox_list()
        downloads = [request(bbox).download_list[0] for bbox in bboxes]
        arrays = client.download(downloads, max_threads=p["concurrency"])  # decode_data=True
        min_x, max_y = min(b.min_x for b in bboxes), max(b.max_y for b in bboxes)
        cols = round((max(b.max_x for b in bboxes) - min_x) / res)
        rows = round((max_y - min(b.min_y for b in bboxes)) / res)
        mosaic = np.zeros((rows, cols, arrays[0].shape[2]), arrays[0].dtype)
        for bbox, array in zip(bboxes, arrays, strict=True):
            row, col = round((max_y - bbox.max_y) / res), round((bbox.min_x - min_x) / res)
            mosaic[row : row + array.shape[0], col : col + array.shape[1]] = array
        return mosaic, (min_x, max_y), len(bboxes)

    # warm-up: the token, imports (tifffile), the first connection
    small = UtmZoneSplitter([Polygon(polygon)], CRS.WGS84, bbox_size=tile_m).get_bbox_list()[0]
    client.download([request(small).download_list[0]])
    for _ in ctx.repeats():
        with ctx.timed():
            mosaic, (left, top), tiles = area()
        _record(ctx, mosaic, left, top, tiles)
        del mosaic


def sentinelhub_splitter(ctx: Context) -> None:
    _sentinelhub(ctx)


def sentinelhub_splitter_unpaced(ctx: Context) -> None:
    _sentinelhub(ctx, paced=False)


SCENARIO = Scenario(
    name="process-area",
    module=__name__,
    summary=(
        "A 10 km x 10 km area at 10 m (1000x1000 px, a polygon around Ljubljana) in 2.5 km tiles "
        "(16 of 250x250 px, 3-band UINT8), C in flight, mosaicked into one array."
    ),
    rows=(
        Row("eoclient process_area() -> DataArray", "eoclient_process_area"),
        Row(
            "eoclient one request, whole square (ref.)",
            "eoclient_one_request",
            "eoclient",
            "the square as one Process request, to_numpy(): the pixels every mosaic must hold",
        ),
        Row(
            "sentinelhub-py UtmZoneSplitter + download()",
            "sentinelhub_splitter",
            "sentinelhub",
            "split, one SentinelHubRequest a tile, download(decode_data=True), the user's numpy mosaic",
        ),
        Row(
            "sentinelhub-py splitter, pacing off",
            "sentinelhub_splitter_unpaced",
            "sentinelhub",
            "diagnostic: the same with SentinelHubRateLimit(minimum_wait_time=0)",
        ),
    ),
    normal={"side": 10_000, "tile": 2500, "resolution": 10, "concurrency": 8, "repeat": 5},
    quick={"side": 1_000, "tile": 500, "resolution": 10, "concurrency": 4, "repeat": 1},
    unit="Mpx/s",
    amount=lambda params, facts: (params["side"] / params["resolution"]) ** 2 / 1e6,
    headline=lambda p: (
        f"{p['side'] / 1000:g} km x {p['side'] / 1000:g} km at {p['resolution']} m "
        f"({p['side'] // p['resolution']}x{p['side'] // p['resolution']} px) in {_tiles(p)} tiles of "
        f"{p['tile'] // p['resolution']} px, C={p['concurrency']}"
    ),
    agree=("window", "dtype", "sha256"),
    memory=True,
    figures=_figures,
)

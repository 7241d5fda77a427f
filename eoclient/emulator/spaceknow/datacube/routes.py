"""The emulated Datacube's routes: AoIs, catalogue, datapoints (sync and pipeline), products and CSVs.

Every route needs ``datacube.get``; CSVs are streamed a batch of rows at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import require
from eoclient.emulator.spaceknow.datacube.data import (
    AOIS,
    CATALOGUE,
    PRODUCTS,
    ProductDef,
    product_json,
    product_rows,
    sales_info,
)
from eoclient.emulator.spaceknow.datacube.query import evaluate, parse_query
from eoclient.emulator.spaceknow.pipelines import add_retrieve_route, create_pipeline, initiate_response

__all__ = ["CATALOGUE_FIELDS", "DATAPOINTS_FIELDS", "MAX_SYNC_ROWS", "setup"]


MAX_SYNC_ROWS: Final = 2000


_CSV_BATCH: Final = 500  # rows per streamed write


# The body fields the reference lists (table and example); others are refused (core.routing).
CATALOGUE_FIELDS: Final = ("version", "project", "source", "algorithm", "aoiName", "aoiLabel")


DATAPOINTS_FIELDS: Final = (
    "aggregator",
    "showAoiPositions",
    "showAoiTags",
    "postprocessType",
    "resample",
    "columns",
    "keepDuplicates",
    "keepAllVersions",
)


_PRODUCT_ID_MAX: Final = 140


Handler = Callable[[web.Request, dict[str, Any]], Any]


def _route(handler: Handler) -> Callable[[web.Request], Any]:
    """Permission ``datacube.get`` and a JSON object body, then ``handler(request, body)``."""

    async def route(request: web.Request) -> web.StreamResponse:
        require(request, "datacube.get")
        response: web.StreamResponse = await handler(request, await json_body(request, required=False))
        return response

    return route


async def _aois(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request, body
    return web.json_response([{"label": label, "name": name} for label, (name, _) in AOIS.items()])


async def _catalogue(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request
    wanted = {
        "version": body.get("version"),
        "project": body.get("project"),
        "source": body.get("source"),
        "algorithm": body.get("algorithm"),
        "aoi_name": body.get("aoiName"),
        "aoi_label": body.get("aoiLabel"),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for e in CATALOGUE:
        entry = {
            "algorithm": e.algorithm,
            "aoi_label": e.aoi,
            "aoi_name": AOIS[e.aoi][0],
            "date_ranges": [{"from": a, "to": b} for a, b in e.ranges],
            "last_update": f"{e.ranges[-1][1]} 17:39:56",
            "metadata": {"frequency": e.frequency, "name": e.name},
            "project": e.project,
            "source": e.source,
            "version": e.version,
        }
        # An empty string filters nothing, like an absent field.
        if all(v in (None, "") or entry[k] == v for k, v in wanted.items()):
            out.setdefault(e.algorithm, []).append(entry)
    return web.json_response(out)


def _permissions(request: web.Request, body: dict[str, Any]) -> None:
    if body.get("showAoiPositions") is True:
        require(request, "datacube.get-aoi-positions")
    if body.get("showAoiTags") is True:
        require(request, "datacube.get-aoi-tags")


async def _datapoints(request: web.Request, body: dict[str, Any]) -> web.Response:
    _permissions(request, body)
    return web.json_response(evaluate(body, limit=MAX_SYNC_ROWS))


async def _datapoints_initiate(request: web.Request, body: dict[str, Any]) -> web.Response:
    _permissions(request, body)
    state = get_state(request)
    parse_query(body)  # a malformed query is refused at once
    try:
        result: dict[str, Any] | None = evaluate(body)
        error = None
    except Refusal as exc:  # well-formed but cannot run: the pipeline FAILS with the reason
        result, error = None, f"{exc.code}: {exc.message}"
    job = create_pipeline(state, "datacube/datapoints/get", result=result, error=error)
    return initiate_response(job, state)


async def _products(request: web.Request, body: dict[str, Any]) -> web.Response:
    del request
    product_id = body.get("productId")
    only = body.get("downloadableOnly")
    if only is not None and not isinstance(only, bool):
        raise Refusal(400, "BAD-REQUEST", "downloadableOnly must be a boolean")
    if product_id is not None:
        if product_id not in PRODUCTS:
            raise Refusal(404, "PRODUCT-NOT-FOUND", f"product {product_id} not found")
        chosen = [PRODUCTS[product_id]]
    else:
        chosen = list(PRODUCTS.values())
    return web.json_response([product_json(p) for p in chosen if p.downloadable or not only])


def _product(body: dict[str, Any]) -> ProductDef:
    product_id = body.get("productId")
    if not isinstance(product_id, str) or not 1 <= len(product_id) <= _PRODUCT_ID_MAX:
        raise Refusal(400, "BAD-REQUEST", "productId must be a string of 1 to 140 characters")
    product = PRODUCTS.get(product_id)
    if product is None:
        raise Refusal(404, "PRODUCT-NOT-FOUND", f"product {product_id} not found")
    return product


async def _stream_csv(
    request: web.Request, rows: Iterator[list[str]], *, quote_all: bool
) -> web.StreamResponse:
    """Write ``rows`` as ``text/csv`` a batch at a time (never the whole body in memory)."""
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n"
    )
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % _CSV_BATCH == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


async def _product_csv(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    product = _product(body)
    if not product.downloadable:
        raise Refusal(403, "NOT-AUTHORIZED", f"product {product.product_id} is not downloadable for you")
    csv_format = body.get("csvFormat", "simple")
    if csv_format not in ("simple", "rich"):
        raise Refusal(400, "BAD-REQUEST", "csvFormat must be 'simple' or 'rich'")
    pit: date | None = None
    if body.get("pitDt") is not None:
        try:
            pit = date.fromisoformat(str(body["pitDt"]))
        except ValueError:
            raise Refusal(400, "BAD-REQUEST", "pitDt must be 'YYYY-MM-DD'") from None
    rows = product_rows(product, pit_dt=pit, rich=csv_format == "rich")
    return await _stream_csv(request, rows, quote_all=False)


async def _data_dictionary(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    product = _product(body)
    header = ["column_id", "topic", "type_of_index", "region", "frequency", "rolling", "value_type", "units"]
    info = sales_info(product)
    rows = [header] + [
        [
            column,
            i["topic"],
            i["typeOfIndex"],
            i["region"],
            i["frequency"],
            i["rolling"],
            i["valueType"],
            i["units"],
        ]
        for column, i in info.items()
    ]
    return await _stream_csv(request, iter(rows), quote_all=True)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the Datacube routes to the SpaceKnow app."""
    del state
    add_route(app, "POST", "/datacube/aois/list", _route(_aois), fields=())
    add_route(app, "POST", "/datacube/catalogue/get", _route(_catalogue), fields=CATALOGUE_FIELDS)
    add_route(
        app,
        "POST",
        "/datacube/datapoints/get",
        _route(_datapoints),
        required_fields=("filters",),
        fields=DATAPOINTS_FIELDS,
    )
    add_route(
        app,
        "POST",
        "/datacube/datapoints/get/initiate",
        _route(_datapoints_initiate),
        required_fields=("filters",),
        fields=DATAPOINTS_FIELDS,
    )
    add_retrieve_route(app, "datacube/datapoints/get", "datacube.get")
    add_route(
        app, "POST", "/datacube/products/list", _route(_products), fields=("productId", "downloadableOnly")
    )
    add_route(
        app,
        "POST",
        "/datacube/products/get-csv",
        _route(_product_csv),
        required_fields=("productId",),
        fields=("pitDt", "csvFormat"),
    )
    add_route(
        app,
        "POST",
        "/datacube/products/get-data-dictionary",
        _route(_data_dictionary),
        required_fields=("productId",),
        fields=(),
    )

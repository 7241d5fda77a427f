"""SpaceKnow Datacube against the emulator: AoIs, catalogue, datapoints (sync and job), products, CSVs."""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow.accounts import accounts
from eoclient.emulator.spaceknow.datacube import (
    AOIS,
    CATALOGUE,
    MAX_SYNC_ROWS,
    PRODUCTS,
    SITES,
    evaluate,
    product_rows,
)
from eoclient.errors import (
    BadRequestError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.datacube_models import Filter, GeoIntersects, TimeRange, ValueList, ValueRange

pytestmark = pytest.mark.eo_emulator(clock_speed=500.0)

COAL = [ValueList("project", ["coal"]), ValueList("algorithm", ["ndmi_mean"])]
SHIPS = [ValueList("project", ["industrial_production"]), ValueList("algorithm", ["ship_count"])]
LARGE_PRODUCT = "SK_TRA_DIS_CON_LOG_ASI_US_D"


def wire(filters: list[Filter], **options: Any) -> dict[str, Any]:
    return {"filters": [f.to_wire() for f in filters], **options}


def datacube_requests(emu: Emulator) -> list[Any]:
    return [r for r in emu.requests if r.path.startswith("/datacube/")]


async def test_aois(sk: SpaceKnow) -> None:
    aois = await sk.datacube.aois().collect()
    assert [(a.label, a.name) for a in aois] == [(label, name) for label, (name, _) in AOIS.items()]
    cz = await sk.datacube.aoi("cz")
    assert cz is not None and cz.name == "Czech Republic"
    assert await sk.datacube.aoi("atlantis") is None


@pytest.mark.parametrize(
    ("kwargs", "keep"),
    [
        ({}, lambda e: True),
        ({"project": "coal"}, lambda e: e.project == "coal"),
        ({"algorithm": "ship_count"}, lambda e: e.algorithm == "ship_count"),
        ({"version": "162"}, lambda e: e.version == "162"),
        ({"source": "PSScene"}, lambda e: e.source == "PSScene"),
        ({"aoi_label": "cz", "project": "coal"}, lambda e: e.aoi == "cz" and e.project == "coal"),
        ({"aoi_name": "Germany"}, lambda e: e.aoi == "de"),
        ({"aoi_label": "atlantis"}, lambda e: False),
    ],
)
async def test_catalogue_filters(
    eo_emulator: Emulator, sk: SpaceKnow, kwargs: dict[str, str], keep: Any
) -> None:
    entries = await sk.datacube.catalogue(**kwargs).collect()
    truth = [e for e in CATALOGUE if keep(e)]
    assert sorted((e.algorithm, e.aoi_label, e.project, e.version) for e in entries) == sorted(
        (e.algorithm, e.aoi, e.project, e.version) for e in truth
    )
    for entry in entries:
        assert entry.date_ranges and entry.date_ranges[0].start <= entry.date_ranges[-1].end
        assert entry.aoi_name == AOIS[entry.aoi_label or ""][0]
        assert entry.metadata is not None and entry.metadata["frequency"] in {"D", "W", "M"}
    body = datacube_requests(eo_emulator)[-1].body
    wire_names = {"aoi_label": "aoiLabel", "aoi_name": "aoiName"}
    assert body is not None
    assert all(f'"{wire_names.get(k, k)}":"{v}"'.encode() in body for k, v in kwargs.items())


FILTER_CASES: list[tuple[str, list[Filter], Any]] = [
    ("time-range", [TimeRange(start="2018-03-01", end=datetime(2018, 5, 31, 23, 59, 59, tzinfo=UTC))],
     lambda r: "2018-03-01 00:00:00" <= r["startDatetime"] <= "2018-05-31 23:59:59"),
    ("value-range", [ValueRange("cloudCover", max=0.05)], lambda r: r["cloudCover"] <= 0.05),
    ("value-range-both", [ValueRange("value", min=0.2, max=0.25)], lambda r: 0.2 <= r["value"] <= 0.25),
    ("value-list", [ValueList("tag", ["mine", "lignite"])],
     lambda r: {"mine", "lignite"} & set(SITES[r["aoi"]].tags)),
    ("geo-intersects-label", [GeoIntersects(label="de")], lambda r: r["aoi"].startswith("de-")),
    ("geo-intersects-geometry",
     [GeoIntersects(geometry={"type": "Polygon",
                              "coordinates": [[[13, 50], [14, 50], [14, 51], [13, 51], [13, 50]]]})],
     lambda r: r["aoi"] == "cz-most"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "extra", "check"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
async def test_datapoints_each_filter_type(
    eo_emulator: Emulator, sk: SpaceKnow, name: str, extra: list[Filter], check: Any
) -> None:
    filters = COAL + extra
    unfiltered = await sk.datacube.datapoints(COAL)
    points = await sk.datacube.datapoints(filters)
    assert 0 < points.total_rows < unfiltered.total_rows
    assert points.total_rows == len(points.data)
    assert all(check(row) for row in points.data), name
    truth = evaluate(wire(filters))
    assert (points.total_rows, points.data) == (truth["totalRows"], truth["data"])
    assert {r["project"] for r in points.data} == {"coal"}
    # The job variant gives the same rows.
    job = await sk.datacube.datapoints_job(filters)
    assert len(job.id) == 20
    assert (await job).data == points.data


async def test_plain_dict_filters_and_whole_query_dicts(sk: SpaceKnow) -> None:
    typed = await sk.datacube.datapoints([*COAL, ValueRange("cloudCover", max=0.05)], resample="monthly")
    query = {
        "filters": [
            {"field": "project", "params": {"values": ["coal"]}, "type": "value-list"},
            {"field": "algorithm", "params": {"values": ["ndmi_mean"]}, "type": "value-list"},
            {"field": "cloudCover", "params": {"max": 0.05}, "type": "value-range"},
        ],
        "resample": "monthly",
    }
    assert await sk.datacube.datapoints(query) == typed
    assert await sk.datacube.datapoints(query["filters"], resample="monthly") == typed


async def test_latest_version_unless_all_versions(sk: SpaceKnow) -> None:
    cz = [*COAL, GeoIntersects(label="cz")]
    latest = await sk.datacube.datapoints(cz)
    every = await sk.datacube.datapoints(cz, keep_all_versions=True)
    assert {r["version"] for r in latest.data} == {"162"}
    assert {r["version"] for r in every.data} == {"160", "162"}
    # Matched by the query: in 2018 only version 160 exists, so that one is the latest.
    old = await sk.datacube.datapoints([*cz, TimeRange(end="2018-12-31 23:59:59")])
    assert {r["version"] for r in old.data} == {"160"}


async def test_duplicates_dropped_unless_kept(sk: SpaceKnow) -> None:
    plain = await sk.datacube.datapoints(COAL)
    kept = await sk.datacube.datapoints(COAL, keep_duplicates=True)
    assert kept.total_rows > plain.total_rows
    rows = [tuple(sorted(r.items())) for r in kept.data]
    assert len(set(rows)) == plain.total_rows


async def test_resample_and_aggregator_computed_on_rows(sk: SpaceKnow) -> None:
    cz_2019 = [*COAL, GeoIntersects(label="cz"), TimeRange(start="2019-01-01", end="2019-12-31 23:59:59")]
    raw = await sk.datacube.datapoints(cz_2019)
    monthly = await sk.datacube.datapoints(cz_2019, resample="monthly")
    assert monthly.total_rows == 12 * len({r["aoi"] for r in raw.data})
    january_most = [r for r in raw.data if r["aoi"] == "cz-most" and r["startDatetime"].startswith("2019-01")]
    row = next(
        r for r in monthly.data if r["aoi"] == "cz-most" and r["startDatetime"] == "2019-01-01 00:00:00"
    )
    assert row["endDatetime"] == "2019-01-31 23:59:59"
    assert row["count"] == len(january_most)
    assert row["value"] == pytest.approx(sum(r["value"] for r in january_most) / len(january_most))

    summed = await sk.datacube.datapoints(cz_2019, aggregator="sum")
    assert {r["aoi"] for r in summed.data} == {"*"}
    first = summed.data[0]
    same_time = [r for r in raw.data if r["startDatetime"] == first["startDatetime"]]
    assert first["value"] == pytest.approx(sum(r["value"] for r in same_time))
    assert first["aoiCount"] == len(same_time)

    yearly_max = await sk.datacube.datapoints(cz_2019, aggregator="max", resample="yearly")
    assert yearly_max.total_rows == 1
    assert yearly_max.data[0]["value"] == max(r["value"] for r in raw.data)
    weekly = await sk.datacube.datapoints(cz_2019, resample="weekly")
    assert all(datetime.strptime(r["startDatetime"], "%Y-%m-%d %H:%M:%S").weekday() == 0 for r in weekly.data)


async def test_columns_and_aoi_details(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    narrow = await sk.datacube.datapoints(COAL, columns=["aoi", "startDatetime", "value"])
    assert narrow.data and all(set(r) == {"aoi", "startDatetime", "value"} for r in narrow.data)
    detailed = await sk.datacube.datapoints(COAL, show_aoi_tags=True, show_aoi_positions=True)
    row = detailed.data[0]
    assert row["aoiTags"] == list(SITES[row["aoi"]].tags)
    assert row["aoiPosition"]["coordinates"] == [SITES[row["aoi"]].lon, SITES[row["aoi"]].lat]
    body = datacube_requests(eo_emulator)[-1].body or b""
    assert b'"showAoiTags":true' in body and b'"showAoiPositions":true' in body
    me = (await sk.credits.user_info()).id
    accounts(eo_emulator.state).revoke("datacube.get-aoi-positions", user_id=me)
    with pytest.raises(PermissionDeniedError) as info:
        await sk.datacube.datapoints(COAL, show_aoi_positions=True)
    assert info.value.code == "NOT-AUTHORIZED"
    with pytest.raises(PermissionDeniedError):
        await sk.datacube.datapoints_job(COAL, show_aoi_positions=True)
    assert (await sk.datacube.datapoints(COAL, show_aoi_tags=True)).data[0]["aoiTags"]


async def test_large_query_needs_the_job_variant(sk: SpaceKnow) -> None:
    with pytest.raises(BadRequestError) as info:
        await sk.datacube.datapoints(SHIPS)
    assert info.value.code == "QUERY-TOO-LARGE"
    job = await sk.datacube.datapoints_job(SHIPS)
    seen = [s.raw async for s in job.watch()]
    result = await job
    assert seen[-1] == "RESOLVED"
    assert result.total_rows == len(result.data) == evaluate(wire(SHIPS))["totalRows"] > MAX_SYNC_ROWS
    # Re-attaching from the id gives the same result.
    again = await sk.pipeline(job.id, retrieve="/datacube/datapoints/get/retrieve")
    assert again.total_rows == result.total_rows


async def test_failed_pipeline_and_sync_error_for_unknown_fields(sk: SpaceKnow) -> None:
    bad = [*COAL, ValueRange("nonexistent", max=1)]
    with pytest.raises(BadRequestError) as sync:
        await sk.datacube.datapoints(bad)
    assert sync.value.code == "UNKNOWN-FIELD"
    job = await sk.datacube.datapoints_job(bad)
    with pytest.raises(JobFailedError) as failed:
        await job
    assert failed.value.status == "FAILED" and "UNKNOWN-FIELD" in (failed.value.error or "")
    unknown_aoi = await sk.datacube.datapoints_job([*COAL, GeoIntersects(label="atlantis")])
    with pytest.raises(JobFailedError) as no_aoi:
        await unknown_aoi
    assert "AOI-NOT-FOUND" in (no_aoi.value.error or "")
    with pytest.raises(BadRequestError) as column:
        await sk.datacube.datapoints(COAL, columns=["aoi", "colour"])
    assert column.value.code == "UNKNOWN-FIELD"


async def test_products(sk: SpaceKnow) -> None:
    products = await sk.datacube.products().collect()
    assert [p.product_id for p in products] == list(PRODUCTS)
    downloadable = await sk.datacube.products(downloadable_only=True).collect()
    assert [p.product_id for p in downloadable] == [k for k, v in PRODUCTS.items() if v.downloadable]
    one = await sk.datacube.product("SK_PI_C_CN_W")
    assert one.name == "SpaceKnow China Purchasing Index Weekly"
    assert set(one.sales_info) == set(PRODUCTS["SK_PI_C_CN_W"].columns)
    assert one.sales_info["SK_PI_C_CN_W_index"]["frequency"] == "weekly"
    with pytest.raises(NotFoundError) as info:
        await sk.datacube.product("SK_NOPE")
    assert info.value.code == "PRODUCT-NOT-FOUND"


async def test_product_csv_text_and_rows(sk: SpaceKnow) -> None:
    text = await sk.datacube.product_csv("SK_ABAI_AR_M")
    assert text.startswith("value_dt,delivery_dt,SK_ABAI_AR_M_1d_activity,SK_ABAI_AR_M_1d_change\n")
    rows = await sk.datacube.product_rows("SK_ABAI_AR_M")
    assert rows == list(csv.DictReader(io.StringIO(text)))
    truth = list(product_rows(PRODUCTS["SK_ABAI_AR_M"], pit_dt=None, rich=False))
    assert len(rows) == len(truth) - 1
    assert rows[0]["value_dt"].endswith(" UTC")
    # Point in time: only what had been delivered by then.
    early = await sk.datacube.product_rows("SK_ABAI_AR_M", pit_dt="2017-01-15")
    assert 0 < len(early) < len(rows)
    assert all(r["delivery_dt"] <= "2017-01-15 23:59:59 UTC" for r in early)
    rich = await sk.datacube.product_rows("SK_ABAI_AR_M", csv_format="rich")
    assert set(rows[0]) < set(rich[0]) and rich[0]["product_id"] == "SK_ABAI_AR_M"


async def test_large_product_csv_streamed_row_by_row(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    truth = list(product_rows(PRODUCTS[LARGE_PRODUCT], pit_dt=None, rich=True))
    header = truth[0]
    streamed: list[dict[str, str]] = []
    async with contextlib.aclosing(sk.datacube.iter_product_rows(LARGE_PRODUCT, csv_format="rich")) as rows:
        async for row in rows:
            streamed.append(row)
    assert len(streamed) == len(truth) - 1 > 10_000
    assert streamed == [dict(zip(header, values, strict=True)) for values in truth[1:]]
    # Quoted fields with commas, quotes and line breaks survive the line-by-line parsing.
    revised = [r for r in streamed if r["comment"]]
    assert revised and all(r["comment"] == 'revised, see "methodology"\nsecond line' for r in revised)
    assert streamed == await sk.datacube.product_rows(LARGE_PRODUCT, csv_format="rich")

    # Stopping early releases the connection; the client stays usable.
    async with contextlib.aclosing(sk.datacube.iter_product_rows(LARGE_PRODUCT)) as rows:
        first = await anext(rows)
    assert first["value_dt"].startswith("1995-01-01")
    assert (await sk.datacube.aoi("cz")) is not None


async def test_product_downloads_refused(sk: SpaceKnow) -> None:
    with pytest.raises(PermissionDeniedError):
        await sk.datacube.product_csv("SK_NL_DE_M")
    with pytest.raises(PermissionDeniedError):
        async for _ in sk.datacube.iter_product_rows("SK_NL_DE_M"):
            pass
    with pytest.raises(NotFoundError) as info:
        await sk.datacube.product_csv("SK_NOPE")
    assert info.value.code == "PRODUCT-NOT-FOUND"


async def test_data_dictionary(sk: SpaceKnow) -> None:
    text = await sk.datacube.data_dictionary(LARGE_PRODUCT)
    assert text.startswith('"column_id","topic"')
    rows = await sk.datacube.data_dictionary_rows(LARGE_PRODUCT)
    assert [r["column_id"] for r in rows] == list(PRODUCTS[LARGE_PRODUCT].columns)
    assert {r["type_of_index"] for r in rows} == {"ASI - normal", "ASI - high", "ASI - low"}
    assert all(r["units"] == "%" and r["region"] == "United States" for r in rows)


async def test_every_datacube_route_needs_datacube_get(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    me = (await sk.credits.user_info()).id
    accounts(eo_emulator.state).revoke("datacube.get", user_id=me)
    with pytest.raises(PermissionDeniedError):
        await sk.datacube.aois().collect()
    with pytest.raises(PermissionDeniedError):
        await sk.datacube.datapoints(COAL)
    with pytest.raises(PermissionDeniedError):
        await sk.datacube.data_dictionary(LARGE_PRODUCT)


async def test_input_errors_are_caught_before_sending(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    project, algorithm = COAL
    cases: list[tuple[str, Any]] = [
        ("filters", sk.datacube.datapoints([])),
        ("filters", sk.datacube.datapoints([algorithm])),  # no project
        ("filters", sk.datacube.datapoints([ValueList("project", ["coal", "steel"]), algorithm])),
        ("filters[2].type", sk.datacube.datapoints(
            [project, algorithm, {"type": "value-between", "field": "value", "params": {}}])),
        ("filters[2].params.min", sk.datacube.datapoints(
            [project, algorithm, {"type": "value-range", "field": "value", "params": {"min": 3, "max": 1}}])),
        ("filters[2].params.to", sk.datacube.datapoints_job(
            [project, algorithm,
             {"type": "time-range", "field": "startDatetime",
              "params": {"from": "2019-02-01", "to": "2019-01-01"}}])),
        ("filters[2].field", sk.datacube.datapoints(
            [project, algorithm, {"type": "value-list", "params": {"values": ["x"]}}])),
        ("filters[2].params.values", sk.datacube.datapoints(
            [project, algorithm, {"type": "value-list", "field": "tag", "params": {"values": []}}])),
        ("filters[2].params", sk.datacube.datapoints(
            [project, algorithm, {"type": "geo-intersects", "field": "aoi", "params": {}}])),
        ("resample", sk.datacube.datapoints(COAL, resample="daily")),
        ("columns", sk.datacube.datapoints(COAL, columns=[])),
        ("keep_all_versions", sk.datacube.datapoints(COAL, keep_all_versions="yes")),  # type: ignore[arg-type]
        ("product_id", sk.datacube.product_csv("x" * 141)),
        ("csv_format", sk.datacube.product_csv("SK_PI_C_CN_W", csv_format="fancy")),
        ("pit_dt", sk.datacube.product_rows("SK_PI_C_CN_W", pit_dt="10/10/2020")),
        ("product_id", sk.datacube.data_dictionary("")),
        ("label", sk.datacube.aoi("")),
    ]  # fmt: skip
    for field, call in cases:
        with pytest.raises(ValidationError) as info:
            await call
        assert info.value.field == field
    with pytest.raises(ValidationError) as streamed:
        sk.datacube.iter_product_rows("SK_PI_C_CN_W", csv_format="fancy")
    assert streamed.value.field == "csv_format"
    with pytest.raises(ValidationError):
        TimeRange(start="2019-02-01", end="2019-01-01")
    with pytest.raises(ValidationError):
        ValueRange("cloudCover", min=0.5, max=0.1)
    assert datacube_requests(eo_emulator) == []

"""Statistical and Batch Statistical answers as tidy DataFrames (eoclient.tables)."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from eoclient._models import from_wire
from eoclient.errors import ConfigurationError, ValidationError
from eoclient.geo import as_geojson
from eoclient.sentinelhub.batch_statistics_models import FeatureStatistics
from eoclient.sentinelhub.catalog_models import Item
from eoclient.sentinelhub.statistics_models import StatisticsResponse
from eoclient.spaceknow.imagery_models import Scene
from eoclient.storage.outputs import Output
from eoclient.tables import frame_of, histogram_frame, percentile_name, statistics_frame
from tests.extras import need

pd = need("pandas")

UTC = dt.UTC


def _stats(base: float, **extra: Any) -> dict[str, Any]:
    return {
        "min": base,
        "max": base + 1,
        "mean": base + 0.5,
        "stDev": 0.25,
        "sampleCount": 100,
        "noDataCount": 3,
        **extra,
    }


# As the service writes it: two intervals with two outputs, named bands, percentiles in
# percents and a histogram; a third interval that failed.
ANSWER: dict[str, Any] = {
    "status": "OK",
    "data": [
        {
            "interval": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-02T00:00:00Z"},
            "outputs": {
                "ndvi": {
                    "bands": {
                        "B0": {
                            "stats": _stats(0.1, percentiles={"50.0": 0.6, "2.5": 0.11, "97.5": 0.9}),
                            "histogram": {
                                "bins": [
                                    {"lowEdge": 0.0, "highEdge": 0.5, "count": 40},
                                    {"lowEdge": 0.5, "highEdge": 1.0, "count": 57},
                                ],
                                "overflowCount": 0,
                                "underflowCount": 0,
                            },
                        }
                    }
                },
                "bands": {"bands": {"red": {"stats": _stats(10)}, "nir": {"stats": _stats(20)}}},
            },
        },
        {
            "interval": {"from": "2024-06-02T00:00:00Z", "to": "2024-06-03T00:00:00Z"},
            "outputs": {
                "ndvi": {
                    "bands": {
                        "B0": {
                            "stats": {
                                "min": "NaN",
                                "max": "NaN",
                                "mean": "NaN",
                                "stDev": "NaN",
                                "sampleCount": 100,
                                "noDataCount": 100,
                                "percentiles": {"50.0": "NaN", "2.5": "NaN", "97.5": "NaN"},
                            }
                        }
                    }
                },
                "bands": {"bands": {"red": {"stats": _stats(11)}, "nir": {"stats": _stats(21)}}},
            },
        },
        {
            "interval": {"from": "2024-06-03T00:00:00Z", "to": "2024-06-04T00:00:00Z"},
            "error": {"type": "EXECUTION_ERROR", "message": "Failed to evaluate script!"},
        },
    ],
}
NAMED = ["min", "max", "mean", "stDev", "sampleCount", "noDataCount"]
COLUMNS = ["interval_from", "interval_to", "output", "band", "statistic", "value", "error"]


def _answer(data: dict[str, Any] = ANSWER) -> StatisticsResponse:
    return from_wire(data, StatisticsResponse)


def _feature(feature_id: str | None, identifier: str | None, answer: StatisticsResponse) -> FeatureStatistics:
    key = f"stats/{feature_id or identifier}.json"
    out = Output(
        bucket="b",
        key=key,
        path=key,
        size=1,
        etag=None,
        checksum=None,
        last_modified=dt.datetime(2024, 1, 1, tzinfo=UTC),
    )
    return FeatureStatistics(feature_id=feature_id, identifier=identifier, output=out, statistics=answer)


def test_one_row_per_interval_output_band_statistic() -> None:
    frame = _answer().to_pandas()
    assert list(frame.columns) == COLUMNS
    ok = frame[frame["error"].isna()]
    # interval 1: ndvi/B0 6 + 3 percentiles, bands/red 6, bands/nir 6; interval 2: the same.
    assert len(ok) == 2 * (9 + 6 + 6)
    first = ok[ok["interval_from"] == pd.Timestamp("2024-06-01T00:00:00Z")]
    ndvi = first[(first["output"] == "ndvi") & (first["band"] == "B0")]
    # The named statistics in the service's order, then percentiles by number.
    assert list(ndvi["statistic"]) == [*NAMED, "p2.5", "p50", "p97.5"]
    assert list(ndvi["value"]) == [0.1, 1.1, 0.6, 0.25, 100.0, 3.0, 0.11, 0.6, 0.9]
    nir = first[(first["output"] == "bands") & (first["band"] == "nir")].set_index("statistic")["value"]
    assert nir["min"] == 20 and nir["max"] == 21 and nir["noDataCount"] == 3
    assert set(first["output"]) == {"ndvi", "bands"}
    assert (first["interval_to"] == pd.Timestamp("2024-06-02T00:00:00Z")).all()


def test_nan_statistics_stay_as_nan_rows() -> None:
    frame = _answer().to_pandas()
    second = frame[
        (frame["interval_from"] == pd.Timestamp("2024-06-02T00:00:00Z")) & (frame["output"] == "ndvi")
    ].set_index("statistic")["value"]
    assert math.isnan(second["mean"]) and math.isnan(second["p50"])
    assert second["noDataCount"] == 100


def test_failed_interval_is_one_row_with_its_error() -> None:
    frame = _answer().to_pandas()
    failed = frame[frame["error"].notna()]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert row["error"] == "EXECUTION_ERROR: Failed to evaluate script!"
    assert row["interval_from"] == pd.Timestamp("2024-06-03T00:00:00Z")
    assert row["interval_to"] == pd.Timestamp("2024-06-04T00:00:00Z")
    assert row["output"] is None and row["band"] is None and row["statistic"] is None
    assert math.isnan(row["value"])


def test_dtypes() -> None:
    frame = _answer().to_pandas()
    assert frame["value"].dtype == "float64"
    for column in ("interval_from", "interval_to"):
        assert isinstance(frame[column].dtype, pd.DatetimeTZDtype)
        assert str(frame[column].dt.tz) == "UTC"
    for column in ("output", "band", "statistic", "error"):
        assert frame[column].dtype == object


def test_empty_answer_keeps_columns_and_dtypes() -> None:
    frame = _answer({"data": []}).to_pandas()
    assert list(frame.columns) == COLUMNS and len(frame) == 0
    assert frame["value"].dtype == "float64"
    assert isinstance(frame["interval_from"].dtype, pd.DatetimeTZDtype)


def test_naive_intervals_are_read_as_utc() -> None:
    data = {
        "data": [
            {
                "interval": {"from": "2024-06-01T00:00:00", "to": "2024-06-02T00:00:00"},
                "outputs": {"default": {"bands": {"B0": {"stats": {"mean": 1.0}}}}},
            }
        ]
    }
    frame = _answer(data).to_pandas()
    assert list(frame["statistic"]) == ["mean"]  # statistics the answer lacks give no row
    assert frame["interval_from"].iloc[0] == pd.Timestamp("2024-06-01T00:00:00Z")


@pytest.mark.parametrize(
    ("keys", "names"),
    [
        (["0.05", "0.5", "0.95"], ["p5", "p50", "p95"]),  # fractions, as the OpenAPI document says
        (["5.0", "50.0", "95.0"], ["p5", "p50", "p95"]),  # percents, as the service's examples
        (["0.5", "50.0"], ["p0.5", "p50"]),  # a key above 1: all are percents
        (["0.333"], ["p33.3"]),
    ],
)
def test_percentile_names(keys: list[str], names: list[str]) -> None:
    stats = {"percentiles": {k: float(i) for i, k in enumerate(keys)}}
    data = {
        "data": [
            {
                "interval": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-02T00:00:00Z"},
                "outputs": {"default": {"bands": {"B0": {"stats": stats}}}},
            }
        ]
    }
    assert list(_answer(data).to_pandas()["statistic"]) == names


def test_percentile_name_of_an_unexpected_key() -> None:
    assert percentile_name("median", fractions=False) == "pmedian"


def test_histogram_rows() -> None:
    frame = _answer().to_pandas(histograms=True)
    assert list(frame.columns) == [
        "interval_from",
        "interval_to",
        "output",
        "band",
        "low_edge",
        "high_edge",
        "count",
        "error",
    ]
    bins = frame[frame["error"].isna()]
    assert list(bins["low_edge"]) == [0.0, 0.5] and list(bins["high_edge"]) == [0.5, 1.0]
    assert list(bins["count"]) == [40, 57]
    assert str(bins["count"].dtype) == "Int64" and frame["low_edge"].dtype == "float64"
    failed = frame[frame["error"].notna()]
    assert len(failed) == 1 and failed["count"].isna().all()


def test_feature_statistics_frame_leads_with_the_feature() -> None:
    frame = _feature("17", "field-a", _answer()).to_pandas()
    assert list(frame.columns) == ["feature", *COLUMNS]
    assert (frame["feature"] == "17").all()
    assert len(frame) == len(_answer().to_pandas())
    only_identifier = _feature(None, "field-b", _answer()).to_pandas(histograms=True)
    assert set(only_identifier["feature"]) == {"field-b"}


def test_statistics_frame_concatenates_features() -> None:
    a = _feature("1", None, _answer())
    b = _feature("2", None, _answer({"data": [ANSWER["data"][2]]}))  # only the failed interval
    frame = statistics_frame([a, b])
    assert list(frame.columns) == ["feature", *COLUMNS]
    assert list(frame["feature"].unique()) == ["1", "2"]
    assert len(frame[frame["feature"] == "2"]) == 1
    assert frame[frame["feature"] == "2"]["error"].iloc[0].startswith("EXECUTION_ERROR")
    assert frame["value"].dtype == "float64"


def test_statistics_frame_of_plain_answers_and_of_a_mapping() -> None:
    plain = statistics_frame([_answer()])
    assert plain["feature"].isna().all()
    named = statistics_frame({"north": _answer(), "south": _answer()})
    assert set(named["feature"]) == {"north", "south"}
    assert len(named) == 2 * len(plain)
    hist = histogram_frame({"north": _answer()})
    assert list(hist["count"].dropna()) == [40, 57]


def test_statistics_frame_refuses_something_else() -> None:
    with pytest.raises(ValidationError) as err:
        statistics_frame([_answer(), {"data": []}])  # type: ignore[list-item]
    assert err.value.field == "answers[1]"


async def test_frame_of_an_async_iterator() -> None:
    async def results() -> AsyncIterator[FeatureStatistics]:
        for name in ("a", "b", "c"):
            yield _feature(name, None, _answer())

    frame = await frame_of(results())
    assert list(frame["feature"].unique()) == ["a", "b", "c"]
    hist = await frame_of(results(), histograms=True)
    assert len(hist[hist["error"].isna()]) == 3 * 2


def test_without_pandas_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas then raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[pandas\]'"):
        _answer().to_pandas()


def test_import_eoclient_does_not_import_pandas_or_pystac() -> None:
    code = (
        "import sys, eoclient, eoclient.tables, eoclient.sentinelhub.catalog_models;"
        "import eoclient.sentinelhub.statistics_models;"
        "print(sorted(m for m in ('pandas', 'pystac', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- GeoJSON Features: catalog items and SpaceKnow scenes alike ----------------------------

SQUARE = {"type": "Polygon", "coordinates": [[[14.0, 46.0], [14.1, 46.0], [14.1, 46.1], [14.0, 46.0]]]}


def test_item_feature_carries_bbox_and_collection_only_when_known() -> None:
    item = from_wire(
        {"id": "a", "geometry": SQUARE, "bbox": [14.0, 46.0, 14.1, 46.1], "collection": "c"},
        Item,
    )
    assert item.__geo_interface__ == {
        "type": "Feature",
        "id": "a",
        "geometry": SQUARE,
        "bbox": [14.0, 46.0, 14.1, 46.1],
        "collection": "c",
        "properties": {},
    }
    bare = from_wire({"id": "b"}, Item).__geo_interface__
    assert bare == {"type": "Feature", "id": "b", "geometry": None, "properties": {}}


def test_scene_feature_is_json_ready_and_without_footprint_has_no_geometry() -> None:
    scene = from_wire(
        {"sceneId": "s1", "provider": "pl", "datetime": "2020-01-02 03:04:05", "bands": [{"names": ["r"]}]},
        Scene,
    )
    feature = scene.__geo_interface__
    assert feature["geometry"] is None and feature["id"] == "s1"
    assert feature["properties"] == {
        "sceneId": "s1",
        "provider": "pl",
        "datetime": "2020-01-02T03:04:05Z",
        "bands": [{"names": ["r"]}],
    }
    # A scene without footprint is not an area: refused by name, not sent.
    with pytest.raises(ValidationError):
        as_geojson(scene, field="extent")

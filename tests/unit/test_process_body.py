"""The one-pass Process body and the general path through the models: the same body, or the same error.

Every request of the corpus is prepared both ways; a valid dict of the usual
shape must be taken by the one pass (else these comparisons would test one
path against itself), and every mistake must be left to the general path,
which names the field.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest

from eoclient.errors import ValidationError
from eoclient.geo import CRS84, BBox
from eoclient.sentinelhub import process_body as one_pass
from eoclient.sentinelhub import process_models
from eoclient.sentinelhub.data_collections import DataCollection
from eoclient.sentinelhub.prepared import prepare_general, prepare_process
from eoclient.sentinelhub.process_body import HANDLED, fast_process_body
from tests.unit.test_process_validation import PROCESS_CASES, edit, process_body

UTM = "http://www.opengis.net/def/crs/EPSG/0/32633"


class _BadGeo:
    @property
    def __geo_interface__(self) -> dict[str, Any]:
        return {"type": "Polygon"}


def _with(*mutations: Any) -> dict[str, Any]:
    body = process_body()
    for mutate in mutations:
        mutate(body)
    return body


def _utm(body: dict[str, Any]) -> None:
    body["input"]["bounds"]["bbox"] = [500000, 5000000, 510000, 5010000]


# Valid dicts the one pass must take: (name, request, accept).
FAST: list[tuple[str, dict[str, Any], str | None]] = [
    ("documented example", process_body(), None),
    (
        "unknown keys at every level",
        _with(
            edit("customTop", "kept"),
            edit("input.extra", {"a": (1, 2), "b": None}),
            edit("input.bounds.note", "x"),
            edit("input.bounds.properties.axis", "xy"),
            edit("input.data[0].someOption", [1, {"c": None}]),
            edit("input.data[0].dataFilter.someNewFilter", {"x": [1, 2]}),
            edit("input.data[0].dataFilter.timeRange.note", 1),
            edit("input.data[0].processing", {"upsampling": "BICUBIC", "futureOption": True}),
            edit("output.extra", 3),
            edit("output.responses[0].note", "n"),
            edit("output.responses[0].format.extra", {"q": 1}),
        ),
        None,
    ),
    ("an unknown None is left out", _with(edit("dropped", None), edit("input.gone", None)), None),
    ("an unknown geo object", _with(edit("area", BBox(13.8, 45.8, 14.5, 46.2))), None),
    (
        "known keys set to None",
        _with(edit("input.data[0].id", None), edit("input.data[0].processing", None)),
        None,
    ),
    ("EPSG code", _with(edit("input.bounds.properties.crs", 32633), _utm), None),
    ("EPSG string", _with(edit("input.bounds.properties.crs", "EPSG:32633"), _utm), None),
    ("EPSG URL", _with(edit("input.bounds.properties.crs", UTM), _utm), None),
    ("EPSG:4326", _with(edit("input.bounds.properties.crs", "EPSG:4326")), None),
    (
        "Web Mercator",
        _with(edit("input.bounds.properties.crs", 3857), edit("input.bounds.bbox", [1e6, 5e6, 1.1e6, 5.1e6])),
        None,
    ),
    ("no properties", _with(edit("input.bounds.properties", drop=True)), None),
    ("empty properties", _with(edit("input.bounds.properties", {})), None),
    ("crs None", _with(edit("input.bounds.properties.crs", None)), None),
    ("bbox of ints", _with(edit("input.bounds.bbox", [13, 45, 14, 46])), None),
    ("bbox as a tuple", _with(edit("input.bounds.bbox", (13.8, 45.8, 14.5, 46.2))), None),
    (
        "naive times",
        _with(
            edit(
                "input.data[0].dataFilter.timeRange",
                {"from": "2024-06-01T00:00:00", "to": "2024-06-02T00:00:00"},
            )
        ),
        None,
    ),
    (
        "offset times",
        _with(
            edit(
                "input.data[0].dataFilter.timeRange",
                {"from": "2024-06-01T02:00:00+02:00", "to": "2024-06-02T00:00:00.123456Z"},
            )
        ),
        None,
    ),
    (
        "datetime objects",
        _with(
            edit(
                "input.data[0].dataFilter.timeRange",
                {
                    "from": datetime(2024, 6, 1),
                    "to": datetime(2024, 6, 2, tzinfo=timezone(timedelta(hours=2))),
                },
            )
        ),
        None,
    ),
    ("only from", _with(edit("input.data[0].dataFilter.timeRange", {"from": "2024-06-01T00:00:00Z"})), None),
    ("no dataFilter", _with(edit("input.data[0].dataFilter", drop=True)), None),
    (
        "every filter",
        _with(
            edit(
                "input.data[0].dataFilter",
                {
                    "maxCloudCoverage": 20,
                    "mosaickingOrder": "leastCC",
                    "previewMode": "PREVIEW",
                    "tiers": "TIER_1",
                    "acquisitionMode": "IW",
                    "polarization": "DV",
                    "orbitDirection": "ASCENDING",
                    "resolution": "HIGH",
                    "timeliness": "NRT10m",
                    "demInstance": "COPERNICUS",
                    "constellation": "LANDSAT",
                },
            )
        ),
        None,
    ),
    ("cloud cover as a float", _with(edit("input.data[0].dataFilter.maxCloudCoverage", 12.5)), None),
    (
        "processing options",
        _with(
            edit(
                "input.data[0].processing",
                {
                    "upsampling": "BILINEAR",
                    "harmonizeValues": False,
                    "orthorectify": True,
                    "radiometricTerrainOversampling": 2,
                    "clampNegative": True,
                    "egm": False,
                    "backCoeff": "GAMMA0_TERRAIN",
                },
            )
        ),
        None,
    ),
    (
        "two collections",
        _with(lambda b: b["input"]["data"].append({"type": "sentinel-1-grd", "id": "s1"})),
        None,
    ),
    (
        "several responses",
        _with(
            edit(
                "output.responses",
                [
                    {"identifier": "default", "format": {"type": "image/jpeg", "quality": 80}},
                    {"identifier": "userdata", "format": {"type": "application/json"}},
                    {"identifier": "mask"},
                ],
            )
        ),
        None,
    ),
    (
        "a response without identifier",
        _with(edit("output.responses", [{"format": {"type": "image/png"}}])),
        None,
    ),
    ("no output", _with(edit("output", drop=True)), None),
    ("empty output", _with(edit("output", {})), None),
    ("width only", _with(edit("output.height", drop=True)), None),
    ("resolution", _with(lambda b: b["output"].update(width=None, height=None, resx=0.01, resy=0.01)), None),
    (
        "resolution as ints",
        _with(
            _utm,
            edit("input.bounds.properties.crs", 32633),
            lambda b: b["output"].update(width=None, height=None, resx=10, resy=10),
        ),
        None,
    ),
    ("accept given", process_body(), "image/png"),
    ("accept with parameters", process_body(), "image/tiff; q=1"),
    ("tar for one response", process_body(), "application/x-tar"),
    ("unicode evalscript", _with(edit("evalscript", "//VERSION=3 \u00e9\n")), None),
    ("data as a tuple", _with(lambda b: b["input"].update(data=tuple(b["input"]["data"]))), None),
    ("geometry None", _with(edit("input.bounds.geometry", None)), None),
    (
        "everything None that may be",
        _with(edit("output", None), edit("input.data[0].dataFilter", None)),
        None,
    ),
]
# The FAST cases with a key the models do not know: the walk's (msgspec's shapes refuse them).
WALKED = {"unknown keys at every level", "an unknown None is left out", "an unknown geo object"}
# ... and those only msgspec's shapes take (the walk takes lists only).
SHAPED = {"data as a tuple"}

# Valid, but the general path's to decide: DataCollection objects, geometries, other containers.
GENERAL: list[tuple[str, Any, str | None]] = [
    ("a DataCollection", _with(edit("input.data[0].type", DataCollection.SENTINEL2_L2A)), None),
    (
        "a geometry",
        _with(edit("input.bounds.geometry", BBox(13.8, 45.8, 14.5, 46.2).__geo_interface__)),
        None,
    ),
    (
        "a sum of coordinates past the largest float",
        _with(
            edit("input.bounds.properties.crs", 3857),
            edit("input.bounds.bbox", [1e308, 1e308, 1.5e308, 1.5e308]),
        ),
        None,
    ),
    ("a speckle filter", _with(edit("input.data[0].processing", {"speckleFilter": {"type": "NONE"}})), None),
    ("a Feature top level", _with(edit("type", "Feature")), None),
]

# Mistakes: the one pass refuses them all, the general path names the field.
MISTAKES: list[tuple[str, Any, str | None]] = [
    *((name, _with(mutate), None) for name, mutate, _ in PROCESS_CASES),
    ("width True", _with(edit("output.width", True)), None),
    ("width 1.5", _with(edit("output.width", 1.5)), None),
    ("bbox with a bool", _with(edit("input.bounds.bbox", [True, 45.8, 14.5, 46.2])), None),
    ("bbox with NaN", _with(edit("input.bounds.bbox", [float("nan"), 45.8, 14.5, 46.2])), None),
    ("bbox with a string", _with(edit("input.bounds.bbox", ["13.8", 45.8, 14.5, 46.2])), None),
    ("bbox out of range", _with(edit("input.bounds.bbox", [13.8, 45.8, 190, 46.2])), None),
    ("bbox with infinity", _with(edit("input.bounds.bbox", [13.8, 45.8, float("inf"), 46.2])), None),
    ("bbox of five", _with(edit("input.bounds.bbox", [13.8, 45.8, 14.5, 46.2, 1])), None),
    ("bbox empty", _with(edit("input.bounds.bbox", [13.8, 45.8, 13.8, 46.2])), None),
    (
        "bbox inverted, CRS without a range",
        _with(edit("input.bounds.properties.crs", 3857), edit("input.bounds.bbox", [2e6, 5e6, 1e6, 6e6])),
        None,
    ),
    (
        "bbox NaN, CRS without a range",
        _with(
            edit("input.bounds.properties.crs", 3857),
            edit("input.bounds.bbox", [1e6, float("nan"), 2e6, 6e6]),
        ),
        None,
    ),
    ("bbox an int too large", _with(edit("input.bounds.bbox", [10**400, 45.8, 14.5, 46.2])), None),
    ("bbox not a list", _with(edit("input.bounds.bbox", "13,45,14,46")), None),
    ("bbox None", _with(edit("input.bounds.bbox", None)), None),
    ("cloud cover True", _with(edit("input.data[0].dataFilter.maxCloudCoverage", True)), None),
    ("cloud cover negative", _with(edit("input.data[0].dataFilter.maxCloudCoverage", -1)), None),
    ("mosaicking order an int", _with(edit("input.data[0].dataFilter.mosaickingOrder", 1)), None),
    ("tiers an int", _with(edit("input.data[0].dataFilter.tiers", 1)), None),
    ("harmonize a string", _with(edit("input.data[0].processing", {"harmonizeValues": "yes"})), None),
    ("id an int", _with(edit("input.data[0].id", 3)), None),
    ("type blank", _with(edit("input.data[0].type", "  ")), None),
    ("type an int", _with(edit("input.data[0].type", 7)), None),
    ("identifier an int", _with(edit("output.responses[0].identifier", 1)), None),
    ("identifier blank", _with(edit("output.responses[0].identifier", " ")), None),
    (
        "quality for a PNG",
        _with(edit("output.responses[0].format", {"type": "image/png", "quality": 50})),
        None,
    ),
    ("quality 101", _with(edit("output.responses[0].format", {"type": "image/jpeg", "quality": 101})), None),
    ("format without type", _with(edit("output.responses[0].format", {})), None),
    ("responses not a list", _with(edit("output.responses", {"identifier": "a"})), None),
    ("width and resx", _with(edit("output.resx", 10.0), edit("output.resy", 10.0)), None),
    ("resy zero", _with(lambda b: b["output"].update(width=None, height=None, resx=0.01, resy=0)), None),
    ("crs a bool", _with(edit("input.bounds.properties.crs", True)), None),
    ("crs unknown", _with(edit("input.bounds.properties.crs", "EPSG:lots")), None),
    ("time as a date", _with(edit("input.data[0].dataFilter.timeRange.from", "2024-06-01")), None),
    ("time an int", _with(edit("input.data[0].dataFilter.timeRange.from", 1717200000)), None),
    ("evalscript not a string", _with(edit("evalscript", 3)), None),
    ("evalscript None", _with(edit("evalscript", None)), None),
    ("input None", _with(edit("input", None)), None),
    ("input a list", _with(edit("input", [])), None),
    ("output a string", _with(edit("output", "png")), None),
    ("a non-string key", _with(edit("input.bounds.properties", {"crs": CRS84, 1: "x"})), None),
    ("a bad geo object in an unknown key", _with(edit("area", _BadGeo())), None),
    ("not a dict", [1, 2], None),
    ("accept unknown", process_body(), "image/gif"),
    (
        "accept not a tar for two",
        _with(edit("output.responses", [{"identifier": "a"}, {"identifier": "b"}])),
        "image/png",
    ),
]


def _outcome(prepare: Any, request: Any, accept: str | None) -> tuple[Any, ...]:
    try:
        p = prepare(copy.deepcopy(request), accept=accept)
    except ValidationError as exc:
        return ("error", exc.field, str(exc))
    return (
        "ok",
        p.body,
        p.wire,
        p.accept,
        p.expect,
        p.parts,
        dict(p.headers),
        p.cost,
        p.georef,
        p.time,
        p.model,
    )


def _ids(cases: list[tuple[str, Any, str | None]]) -> list[str]:
    return [c[0] for c in cases]


@pytest.mark.parametrize(("request_", "accept"), [c[1:] for c in FAST], ids=_ids(FAST))
def test_the_one_pass_gives_what_the_models_give(request_: dict[str, Any], accept: str | None) -> None:
    assert fast_process_body(copy.deepcopy(request_)) is not None
    assert _outcome(prepare_process, request_, accept) == _outcome(prepare_general, request_, accept)


def _refuse(request: Any) -> Any:
    raise one_pass._REFUSED


@pytest.mark.parametrize("which", ["shaped", "walked"])
@pytest.mark.parametrize(("name", "request_", "accept"), FAST, ids=_ids(FAST))
def test_each_try_of_the_one_pass_gives_what_the_models_give(
    monkeypatch: pytest.MonkeyPatch, which: str, name: str, request_: dict[str, Any], accept: str | None
) -> None:
    """The msgspec shapes and the walk, each alone, against the models (the other try refused)."""
    monkeypatch.setattr(one_pass, "_request" if which == "shaped" else "_shaped", _refuse)
    taken = fast_process_body(copy.deepcopy(request_)) is not None
    assert taken == (name not in (WALKED if which == "shaped" else SHAPED))
    if taken:
        assert _outcome(prepare_process, request_, accept) == _outcome(prepare_general, request_, accept)


@pytest.mark.parametrize(("request_", "accept"), [c[1:] for c in MISTAKES], ids=_ids(MISTAKES))
def test_the_shapes_refuse_every_mistake(request_: Any, accept: str | None) -> None:
    if type(request_) is dict and accept is None:  # a bad Accept is only seen once the body is checked
        with pytest.raises((one_pass._Refused, ValidationError, msgspec.ValidationError, OverflowError)):
            one_pass._shaped(copy.deepcopy(request_))


@pytest.mark.parametrize(("request_", "accept"), [c[1:] for c in GENERAL], ids=_ids(GENERAL))
def test_shapes_the_one_pass_leaves_to_the_models(request_: Any, accept: str | None) -> None:
    assert fast_process_body(copy.deepcopy(request_)) is None
    assert _outcome(prepare_process, request_, accept)[0] == "ok"


@pytest.mark.parametrize(("request_", "accept"), [c[1:] for c in MISTAKES], ids=_ids(MISTAKES))
def test_every_mistake_is_named_by_the_models(request_: Any, accept: str | None) -> None:
    if accept is None:  # a bad Accept is only seen once the body is checked
        assert fast_process_body(copy.deepcopy(request_)) is None
    got = _outcome(prepare_process, request_, accept)
    assert got[0] == "error"
    assert got == _outcome(prepare_general, request_, accept)


def test_the_model_of_a_one_pass_request_is_made_when_asked_for() -> None:
    prepared = prepare_process(process_body())
    assert prepared.model == prepare_general(process_body()).model
    assert prepared.model is prepared.model  # made once


def test_times_are_sent_as_given_not_as_an_equal_instant_seen_before() -> None:
    body = _with(
        edit(
            "input.data[0].dataFilter.timeRange",
            {"from": datetime(2024, 6, 1, 2, tzinfo=timezone(timedelta(hours=2)))},
        )
    )
    other = _with(edit("input.data[0].dataFilter.timeRange", {"from": datetime(2024, 6, 1, tzinfo=UTC)}))
    first = prepare_process(body).wire["input"]["data"][0]["dataFilter"]["timeRange"]["from"]
    second = prepare_process(other).wire["input"]["data"][0]["dataFilter"]["timeRange"]["from"]
    assert (first, second) == ("2024-06-01T02:00:00+02:00", "2024-06-01T00:00:00Z")


def test_the_one_pass_reads_every_field_of_the_models() -> None:
    for name, keys in HANDLED.items():
        model = getattr(process_models, name)
        assert keys == {f.encode_name for f in msgspec.structs.fields(model)}, name

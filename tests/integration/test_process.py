"""The Process API against the emulator: formats, multi-part answers, files, PU, budget, retries."""

from __future__ import annotations

import io
import struct
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eoclient.emulator import Emulator
from eoclient.errors import BadRequestError, TransportError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.process_models import (
    Bounds,
    DataFilter,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
    TimeRange,
)

pytestmark = pytest.mark.integration

EVALSCRIPT = """//VERSION=3
function setup() {
  return {
    input: [{bands: ["B02", "B03", "B04", "dataMask"]}],
    output: [{id: "default", bands: 3, sampleType: "UINT16"}],
  };
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = {scenes: scenes.length};
}
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""

BBOX = [13.8, 45.8, 14.5, 46.2]


def request_dict(
    width: int = 40, height: int = 30, *, userdata: bool = False, fmt: str = "image/tiff"
) -> dict[str, Any]:
    responses = [{"identifier": "default", "format": {"type": fmt}}]
    if userdata:
        responses.append({"identifier": "userdata", "format": {"type": "application/json"}})
    return {
        "input": {
            "bounds": {"bbox": BBOX, "properties": {"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {
                        "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"},
                        "maxCloudCoverage": 30,
                        "mosaickingOrder": "leastCC",
                    },
                }
            ],
        },
        "output": {"width": width, "height": height, "responses": responses},
        "evalscript": EVALSCRIPT,
    }


def typed_request(width: int = 40, height: int = 30) -> ProcessRequest:
    return ProcessRequest(
        input=ProcessInput(
            bounds=Bounds.from_bbox(BBOX, crs=4326),
            data=[
                InputData(
                    type="sentinel-2-l2a",
                    data_filter=DataFilter(
                        time_range=TimeRange.of("2024-06-01T00:00:00Z", "2024-06-30T23:59:59Z"),
                        max_cloud_coverage=30,
                        mosaicking_order="leastCC",
                    ),
                )
            ],
        ),
        output=ProcessOutput(
            width=width,
            height=height,
            responses=[OutputResponse(identifier="default", format=OutputFormat(type="image/tiff"))],
        ),
        evalscript=EVALSCRIPT,
    )


def read_tiff(data: bytes) -> dict[int, Any]:
    """The first IFD of a little-endian TIFF as {tag: value or [values]}."""
    assert data[:4] == b"II*\x00"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    tags: dict[int, Any] = {}
    for i in range(count):
        tag, kind, n, raw = struct.unpack_from("<HHI4s", data, ifd + 2 + 12 * i)
        size = {3: 2, 4: 4, 12: 8}[kind]
        fmt = "<" + {3: "H", 4: "I", 12: "d"}[kind] * n
        where = raw if n * size <= 4 else data[struct.unpack("<I", raw)[0] :]
        values = struct.unpack_from(fmt, where)
        tags[tag] = values[0] if n == 1 else list(values)
    return tags


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    creds = eo_emulator.credentials
    async with SentinelHub(
        creds.sh_client_id,
        creds.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as client:
        yield client


def process_bodies(emu: Emulator) -> list[dict[str, Any]]:
    return [msgspec.json.decode(r.body) for r in emu.requests if r.path == "/api/v1/process" and r.body]


async def test_single_tiff_from_a_typed_request(sh: SentinelHub, eo_emulator: Emulator) -> None:
    result = await sh.process(typed_request(120, 90))
    assert result.content_type == "image/tiff"
    tiff = read_tiff(result.content)
    assert (tiff[256], tiff[257], tiff[277], tiff[258]) == (120, 90, 3, [16, 16, 16])
    # one uncompressed strip that ends the file: the size scales with width x height x bands
    assert tiff[279] == 120 * 90 * 3 * 2
    assert tiff[273] + tiff[279] == len(result.content)
    assert result.processing_units == pytest.approx(float(result.headers["x-processingunits-spent"]))
    assert result.processing_units == pytest.approx(120 * 90 / 512**2)  # three input bands
    assert list(result.parts) == ["default"]
    assert result["default"].content is result.content
    body = process_bodies(eo_emulator)[0]
    assert body["input"]["bounds"]["properties"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert body["input"]["data"][0]["dataFilter"]["timeRange"]["from"] == "2024-06-01T00:00:00Z"


async def test_dict_and_typed_requests_are_the_same_request(sh: SentinelHub, eo_emulator: Emulator) -> None:
    typed = await sh.process(typed_request())
    plain = await sh.process(request_dict())
    assert plain.content == typed.content  # the emulator renders deterministically from the body
    first, second = process_bodies(eo_emulator)
    assert first == second


async def test_multi_part_tar_with_default_and_userdata(sh: SentinelHub) -> None:
    result = await sh.process(request_dict(32, 16, userdata=True))
    assert result.content_type == "application/x-tar"  # the default Accept for several responses
    assert set(result.parts) == {"default", "userdata"}
    assert result["default"].filename == "default.tif"
    assert result["default"].content_type == "image/tiff"
    assert read_tiff(result["default"].content)[256] == 32
    meta = result["userdata"].json()
    assert meta["width"] == 32
    assert meta["height"] == 16
    with tarfile.open(fileobj=io.BytesIO(result.content)) as archive:
        assert sorted(archive.getnames()) == ["default.tif", "userdata.json"]
    with pytest.raises(KeyError, match="have: default, userdata"):
        result["ndvi"]


async def test_multipart_mixed_and_x_tar(sh: SentinelHub) -> None:
    mixed = await sh.process(request_dict(8, 8, userdata=True), accept="multipart/mixed")
    assert mixed.content_type == "multipart/mixed"
    assert mixed["userdata"].json()["width"] == 8
    assert mixed["default"].content[:4] == b"II*\x00"
    xtar = await sh.process(request_dict(8, 8, userdata=True), accept="application/x-tar")
    assert xtar.content_type == "application/x-tar"
    assert xtar["default"].content == mixed["default"].content


async def test_accept_overrides_the_requested_format(sh: SentinelHub) -> None:
    png = await sh.process(request_dict(20, 10, fmt="image/tiff"), accept="image/png")
    assert png.content_type == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png.content[16:24]) == (20, 10)
    jpeg = await sh.process(request_dict(20, 10, fmt="image/png"), accept="image/jpeg")
    assert jpeg.content[:3] == b"\xff\xd8\xff"
    raw = await sh.process(request_dict(20, 10), accept="application/octet-stream")
    assert len(raw.content) == 20 * 10 * 3 * 2


async def test_formats_follow_the_request(sh: SentinelHub) -> None:
    png = await sh.process(request_dict(300, 200, fmt="image/png"))
    assert png.content_type == "image/png"
    small = await sh.process(request_dict(30, 20, fmt="image/png"))
    assert struct.unpack(">II", png.content[16:24]) == (300, 200)
    assert struct.unpack(">II", small.content[16:24]) == (30, 20)
    assert len(png.content) > 10 * len(small.content)  # zlib-compressed pixels: more pixels, more bytes


class Footprint:
    """A geometry from some library: only ``__geo_interface__``, with tuples."""

    __geo_interface__ = {  # noqa: RUF012
        "type": "Polygon",
        "coordinates": (((13.9, 45.9), (14.4, 45.9), (14.4, 46.1), (13.9, 45.9)),),
    }


async def test_geo_interface_geometry(sh: SentinelHub, eo_emulator: Emulator) -> None:
    body = request_dict(16, 16)
    body["input"]["bounds"] = {"geometry": Footprint()}
    result = await sh.process(body)
    assert result.content_type == "image/tiff"
    typed = typed_request(16, 16)
    assert typed.input is not None
    typed.input.bounds = Bounds.from_geometry(Footprint(), crs="EPSG:4326")
    await sh.process(typed)
    first, second = process_bodies(eo_emulator)
    expected = {"type": "Polygon", "coordinates": [[[13.9, 45.9], [14.4, 45.9], [14.4, 46.1], [13.9, 45.9]]]}
    assert first["input"]["bounds"] == {"geometry": expected}
    assert second["input"]["bounds"]["geometry"] == expected


async def test_process_to_file_streams_the_exact_bytes(sh: SentinelHub, tmp_path: Path) -> None:
    in_memory = await sh.process(request_dict(400, 300))
    target = tmp_path / "out" / "scene.tif"
    info = await sh.process_to_file(request_dict(400, 300), target)
    assert info.path == target
    assert info.size == len(in_memory.content) == target.stat().st_size
    assert target.read_bytes() == in_memory.content
    assert info.content_type == "image/tiff"
    assert info.processing_units == in_memory.processing_units
    assert files_in(target.parent) == [target]  # no .part left behind


async def test_process_to_file_of_several_responses_is_the_tar(sh: SentinelHub, tmp_path: Path) -> None:
    target = tmp_path / "both.tar"
    info = await sh.process_to_file(request_dict(16, 16, userdata=True), target)
    assert info.content_type == "application/x-tar"
    with tarfile.open(target) as archive:
        assert sorted(archive.getnames()) == ["default.tif", "userdata.json"]


async def test_dropped_download_leaves_no_file(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    # Broken off on every try (one break is rendered again: tests/integration/test_fault_recovery.py).
    eo_emulator.faults.inject("drop", path_prefix="/api/v1/process", count=sh.transport.retry.attempts)
    target = tmp_path / "scene.tif"
    with pytest.raises(TransportError):
        await sh.process_to_file(request_dict(600, 400), target)
    assert files_in(tmp_path) == []


async def test_rate_limit_is_retried(sh: SentinelHub, eo_emulator: Emulator) -> None:
    eo_emulator.faults.inject("rate_limit", path_prefix="/api/v1/process", retry_after=0.01)
    result = await sh.process(request_dict(8, 8))
    assert result.content_type == "image/tiff"
    answered = [(r.status, r.fault) for r in eo_emulator.requests if r.path == "/api/v1/process"]
    assert answered == [(429, "rate_limit"), (200, None)]


async def test_service_errors_are_typed(sh: SentinelHub) -> None:
    body = request_dict()
    body["evalscript"] = "//VERSION=3\nfunction setup() { return {input: ['B02'], output: {bands: 1}}; }"
    with pytest.raises(BadRequestError) as info:
        await sh.process(body)
    assert info.value.code == "RENDERER_EXCEPTION"
    assert "evaluatePixel is not defined" in str(info.value.service_message)
    body = request_dict()
    body["output"]["responses"][0]["identifier"] = "ndvi"
    with pytest.raises(BadRequestError, match="'ndvi' requested but missing"):
        await sh.process(body)


ORBIT_SCRIPT = EVALSCRIPT.replace(
    'output: [{id: "default"', 'mosaicking: "ORBIT",\n    output: [{id: "default"'
)


async def test_budget_paces_process_requests(eo_emulator: Emulator) -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    budget = ProcessingBudget(
        pu_per_minute=6.0, requests_per_minute=600, pu_burst=0.1, clock=lambda: now[0], sleep=fake_sleep
    )
    creds = eo_emulator.credentials
    async with SentinelHub(
        creds.sh_client_id,
        creds.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
        budget=budget,
    ) as sh:
        assert sh.budget is budget
        body = request_dict(256, 256)  # 0.25 PU each; the bucket refills 0.1 PU a second
        results = [await sh.process(body) for _ in range(3)]
        stats = await sh.statistics(
            {
                "input": body["input"],
                "aggregation": {
                    "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-03T00:00:00Z"},
                    "aggregationInterval": {"of": "P1D"},
                    "evalscript": EVALSCRIPT,
                    "width": 16,
                    "height": 16,
                },
            }
        )
        orbit = request_dict(64, 64)
        orbit["evalscript"] = ORBIT_SCRIPT
        spent_orbit = (await sh.process(orbit)).processing_units
        sh.budget = None  # pacing can be switched off (or replaced) on a live client
        await sh.process(body)
    assert budget.requests == 5
    assert sleeps  # the client waited instead of running into the service's limit
    assert sum(sleeps) == pytest.approx(budget.waited)
    estimate = prepare_process(orbit).cost.estimate()
    assert spent_orbit is not None and spent_orbit > estimate  # ORBIT: one sample per 5 days
    assert stats.processing_units == pytest.approx(2 * 0.01)  # two intervals at the minimum area
    charged = sum(r.processing_units or 0 for r in results) + spent_orbit + stats.processing_units
    assert budget.spent == pytest.approx(charged)


async def test_large_answers_are_streamed_and_split(sh: SentinelHub, tmp_path: Path) -> None:
    body = request_dict(1500, 1000, userdata=True)  # a 9 MB TIFF in a tar: split off the event loop
    result = await sh.process(body)
    assert len(result["default"].content) > 1500 * 1000 * 6
    info = await sh.process_to_file(body, tmp_path / "big.tar")
    assert info.size == len(result.content)


def _drop(path: str) -> Any:
    def apply(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[last]

    return apply


def _set(path: str, value: Any) -> Any:
    def apply(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value

    return apply


RAW_CASES = [
    ("no evalscript", _drop("evalscript"), "evalscript"),
    ("blank evalscript", _set("evalscript", " "), "evalscript"),
    ("no bounds", _drop("input.bounds"), "input->bounds"),
    ("reversed bbox", _set("input.bounds.bbox", [14.5, 45.8, 13.8, 46.2]), "input->bounds->bbox"),
    ("bad crs", _set("input.bounds.properties.crs", "EPSG:4326"), "input->bounds->properties->crs"),
    ("width too large", _set("output.width", 3000), "output->width"),
    ("size and resolution", _set("output.resx", 0.1), "output"),
    (
        "unknown format",
        _set("output.responses.0.format.type", "image/gif"),
        "output->responses[0]->format->type",
    ),
    ("no data", _set("input.data", []), "input->data"),
    (
        "reversed time range",
        _set("input.data.0.dataFilter.timeRange.from", "2025-01-01T00:00:00Z"),
        "input->data[0]->dataFilter->timeRange",
    ),
    ("date without time", _set("input.data.0.dataFilter.timeRange.to", "2024-06-30"), None),
]


@pytest.mark.parametrize(("mutate", "parameter"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
async def test_emulator_rejects_bad_bodies_like_the_service(
    sh: SentinelHub, mutate: Any, parameter: str | None
) -> None:
    body = request_dict()
    mutate(body)
    # The raw request skips the client's own checks, to reach the emulated service.
    with pytest.raises(BadRequestError) as info:
        await sh.request("POST", "/api/v1/process", json=body, headers={"Accept": "image/tiff"})
    assert info.value.status == 400
    assert info.value.code == "COMMON_BAD_PAYLOAD"
    assert info.value.details and info.value.details[0]["parameter"].startswith(parameter or "input->data[0]")


async def test_emulator_wants_a_tar_for_several_responses(sh: SentinelHub) -> None:
    with pytest.raises(BadRequestError, match="set the Accept header"):
        await sh.request(
            "POST", "/api/v1/process", json=request_dict(userdata=True), headers={"Accept": "image/tiff"}
        )

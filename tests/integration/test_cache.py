"""The response cache against the emulator: hits make no request, refresh makes one, files are atomic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.statistics import interval_fails
from eoclient.errors import TransportError, ValidationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.budget import ProcessingBudget
from eoclient.sentinelhub.cache import RESPONSE_FILE, ResponseCache
from eoclient.sentinelhub.process_models import (
    Bounds,
    InputData,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    ProcessOutput,
    ProcessRequest,
)
from tests.contract.openapi import require_spec, validate_recorded

pytestmark = pytest.mark.integration

PROCESS = "/api/v1/process"
STATISTICS = "/api/v1/statistics"
BBOX = [13.8, 45.8, 14.5, 46.2]
EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B02", "B03", "B04"]}], output: [{id: "default", bands: 3, sampleType: "UINT16"}]};
}
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""
STATS_EVALSCRIPT = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""


def process_request(width: int = 40, *, userdata: bool = False) -> dict[str, Any]:
    responses = [{"identifier": "default", "format": {"type": "image/tiff"}}]
    if userdata:
        responses.append({"identifier": "userdata", "format": {"type": "application/json"}})
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {"width": width, "height": 30, "responses": responses},
        "evalscript": EVALSCRIPT,
    }


def typed_process_request(width: int = 40) -> ProcessRequest:
    return ProcessRequest(
        input=ProcessInput(bounds=Bounds.from_bbox(BBOX), data=[InputData(type="sentinel-2-l2a")]),
        output=ProcessOutput(
            width=width,
            height=30,
            responses=[OutputResponse(identifier="default", format=OutputFormat(type="image/tiff"))],
        ),
        evalscript=EVALSCRIPT,
    )


def stats_request(start: datetime, days: int) -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()},
            "aggregationInterval": {"of": "P1D"},
            "evalscript": STATS_EVALSCRIPT,
            "width": 16,
            "height": 16,
        },
    }


def client(emu: Emulator, **kwargs: Any) -> SentinelHub:
    return SentinelHub(
        emu.credentials.sh_client_id,
        emu.credentials.sh_client_secret,
        base_url=emu.sentinelhub_url,
        token_url=emu.sentinelhub_token_url,
        **kwargs,
    )


@pytest.fixture
async def sh(eo_emulator: Emulator, tmp_path: Path) -> AsyncIterator[SentinelHub]:
    async with client(eo_emulator, cache_dir=tmp_path / "cache") as c:
        yield c


def sent(emu: Emulator, path: str) -> int:
    return sum(1 for r in emu.requests if r.path == path)


def parts(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


# -- Process API -------------------------------------------------------------------


async def test_second_identical_process_call_makes_no_request(sh: SentinelHub, eo_emulator: Emulator) -> None:
    first = await sh.process(process_request())
    assert sent(eo_emulator, PROCESS) == 1
    assert first.processing_units is not None and first.processing_units > 0
    again = await sh.process(process_request())
    assert sent(eo_emulator, PROCESS) == 1
    assert again.content == first.content
    assert again.content_type == first.content_type == "image/tiff"
    assert list(again.parts) == ["default"]
    assert again.processing_units == 0.0  # this call spent nothing
    assert again.headers["x-processingunits-spent"] == first.headers["x-processingunits-spent"]
    # the typed model of the same request is the same final body: the same entry
    typed = await sh.process(typed_process_request())
    assert sent(eo_emulator, PROCESS) == 1 and typed.content == first.content
    assert sh.cache is not None and (sh.cache.hits, sh.cache.misses, sh.cache.stores) == (2, 1, 1)


async def test_refresh_makes_one_request_and_rewrites(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    await sh.process(process_request())
    fresh = await sh.process(process_request(), refresh=True)
    assert sent(eo_emulator, PROCESS) == 2
    assert fresh.processing_units is not None and fresh.processing_units > 0
    assert sh.cache is not None and sh.cache.stores == 2
    await sh.process(process_request())
    assert sent(eo_emulator, PROCESS) == 2


async def test_a_different_request_misses(sh: SentinelHub, eo_emulator: Emulator) -> None:
    await sh.process(process_request(40))
    other = await sh.process(process_request(41))
    assert sent(eo_emulator, PROCESS) == 2
    await sh.process(process_request(40), accept="image/png")  # another Accept is another answer
    assert sent(eo_emulator, PROCESS) == 3
    again = await sh.process(process_request(41))
    assert sent(eo_emulator, PROCESS) == 3 and again.content == other.content


async def test_multi_part_answer_from_cache_is_split(sh: SentinelHub, eo_emulator: Emulator) -> None:
    first = await sh.process(process_request(userdata=True))
    again = await sh.process(process_request(userdata=True))
    assert sent(eo_emulator, PROCESS) == 1
    assert set(again.parts) == {"default", "userdata"}
    assert again["userdata"].json() == first["userdata"].json()
    assert again["default"].content == first["default"].content


async def test_process_to_file_from_cache_is_identical_and_atomic(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = await sh.process_to_file(process_request(), out / "a.tif")  # streamed into file and entry
    second = await sh.process_to_file(process_request(), out / "b.tif")
    assert sent(eo_emulator, PROCESS) == 1
    assert (out / "b.tif").read_bytes() == (out / "a.tif").read_bytes()
    assert second.size == first.size == (out / "a.tif").stat().st_size
    assert second.processing_units == 0.0 and second.content_type == "image/tiff"
    assert parts(tmp_path) == []
    # the same entry answers process() too, and vice versa
    result = await sh.process(process_request())
    assert sent(eo_emulator, PROCESS) == 1 and result.content == (out / "a.tif").read_bytes()
    await sh.process(process_request(50))
    await sh.process_to_file(process_request(50), out / "c.tif")
    assert sent(eo_emulator, PROCESS) == 2


async def test_process_to_file_copies_without_hardlinks(eo_emulator: Emulator, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache", hardlink=False)
    async with client(eo_emulator, cache=cache) as sh:
        assert sh.cache is cache
        await sh.process_to_file(process_request(), tmp_path / "a.tif")
        await sh.process_to_file(process_request(), tmp_path / "b.tif")
    assert sent(eo_emulator, PROCESS) == 1
    assert (tmp_path / "b.tif").read_bytes() == (tmp_path / "a.tif").read_bytes()
    assert (tmp_path / "b.tif").stat().st_ino != (tmp_path / "a.tif").stat().st_ino
    assert parts(tmp_path) == []


async def test_process_to_file_refresh_rewrites(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    await sh.process_to_file(process_request(), tmp_path / "a.tif")
    await sh.process_to_file(process_request(), tmp_path / "a.tif", refresh=True)
    assert sent(eo_emulator, PROCESS) == 2
    assert parts(tmp_path) == []


async def test_corrupt_entry_is_fetched_again(sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path) -> None:
    first = await sh.process(process_request())
    [entry] = (tmp_path / "cache").rglob(RESPONSE_FILE)
    entry.write_bytes(entry.read_bytes()[:100])  # truncated behind our back
    again = await sh.process(process_request())
    assert sent(eo_emulator, PROCESS) == 2 and again.content == first.content
    await sh.process_to_file(process_request(), tmp_path / "a.tif")  # rewritten entry serves the file
    assert sent(eo_emulator, PROCESS) == 2
    assert (tmp_path / "a.tif").read_bytes() == first.content


async def test_dropped_download_caches_nothing(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    # Every try broken off mid-body (a single break is rendered again: see the next test).
    eo_emulator.faults.inject("drop", path_prefix=PROCESS, count=sh.transport.retry.attempts)
    with pytest.raises(TransportError):
        await sh.process_to_file(process_request(600), tmp_path / "a.tif")
    assert not (tmp_path / "a.tif").exists() and parts(tmp_path) == []
    assert sh.cache is not None and sh.cache.stores == 0
    assert list((tmp_path / "cache").rglob(RESPONSE_FILE)) == []


async def test_a_dropped_download_is_rendered_again_and_cached_once(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    eo_emulator.faults.inject("drop", path_prefix=PROCESS)
    got = await sh.process_to_file(process_request(600), tmp_path / "a.tif")
    assert sent(eo_emulator, PROCESS) == 2
    assert got.size == (tmp_path / "a.tif").stat().st_size and parts(tmp_path) == []
    assert sh.cache is not None and sh.cache.stores == 1
    assert (await sh.process(process_request(600))).content == (tmp_path / "a.tif").read_bytes()
    assert sent(eo_emulator, PROCESS) == 2


async def test_hits_cost_no_budget(eo_emulator: Emulator, tmp_path: Path) -> None:
    budget = ProcessingBudget(pu_per_minute=1000, requests_per_minute=1000)
    async with client(eo_emulator, cache_dir=tmp_path, budget=budget) as sh:
        await sh.process(process_request())
        spent, requests = budget.spent, budget.requests
        await sh.process(process_request())
        await sh.process_to_file(process_request(), tmp_path / "a.tif")
    assert (budget.spent, budget.requests) == (spent, requests) and requests == 1


async def test_cache_and_cache_dir_are_exclusive(eo_emulator: Emulator, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not both"):
        client(eo_emulator, cache_dir=tmp_path, cache=ResponseCache(tmp_path))


async def test_without_cache_nothing_is_cached(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with client(eo_emulator) as sh:
        assert sh.cache is None
        await sh.process(process_request())
        await sh.process(process_request())
        await sh.process_to_file(process_request(), tmp_path / "a.tif")
    assert sent(eo_emulator, PROCESS) == 3


# -- Statistical API ---------------------------------------------------------------


async def test_second_identical_statistics_call_makes_no_request(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    start = datetime(2024, 6, 1, tzinfo=UTC)
    first = await sh.statistics(stats_request(start, 5))
    again = await sh.statistics(stats_request(start, 5))
    assert sent(eo_emulator, STATISTICS) == 1
    assert again.data == first.data and again.status == first.status
    assert first.processing_units is not None and first.processing_units > 0
    assert again.processing_units == 0.0
    await sh.statistics(stats_request(start, 5), refresh=True)
    assert sent(eo_emulator, STATISTICS) == 2
    await sh.statistics(stats_request(start, 6))  # another request misses
    assert sent(eo_emulator, STATISTICS) == 3


def window_with_recoverable_failures(seed: int) -> tuple[datetime, int, set[datetime]]:
    first = datetime(2023, 1, 1, tzinfo=UTC)
    for window in range(100):
        starts = [first + timedelta(days=10 * window + d) for d in range(10)]
        failing = {t for t in starts if interval_fails(seed, t, 0)}
        if failing and not any(interval_fails(seed, t, 1) for t in failing):
            return starts[0], len(starts), failing
    pytest.fail("no window of the seeded emulator fails once and then recovers")


async def test_statistics_retry_caches_the_merged_answer(sh: SentinelHub, eo_emulator: Emulator) -> None:
    seed = eo_emulator.state.stores["sh_statistics.seed"]
    start, days, failing = window_with_recoverable_failures(seed)
    request = stats_request(start, days)

    with_errors = await sh.statistics(request)  # retry_failed=0: cached with its interval errors
    assert {e.interval.from_ for e in with_errors.errors} == failing
    assert sent(eo_emulator, STATISTICS) == 1

    # A hit is the starting point of the retry rounds: only the failed intervals are asked for.
    recovered = await sh.statistics(request, retry_failed=2)
    assert sent(eo_emulator, STATISTICS) == 1 + len(failing)
    assert recovered.ok and recovered.status == "OK"
    assert recovered.processing_units is not None and recovered.processing_units > 0  # the retries only

    # The merged answer replaced the entry: no request, no error, retry or not.
    for rounds in (0, 2):
        answer = await sh.statistics(request, retry_failed=rounds)
        assert answer.ok and answer.data == recovered.data and answer.processing_units == 0.0
    assert sent(eo_emulator, STATISTICS) == 1 + len(failing)


async def test_contract_of_cached_calls(sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path) -> None:
    require_spec()
    await sh.process(process_request())
    await sh.process_to_file(process_request(60), tmp_path / "a.tif")
    await sh.statistics(stats_request(datetime(2024, 6, 1, tzinfo=UTC), 3))
    checked = validate_recorded(eo_emulator.requests, path_prefix=PROCESS)
    checked += validate_recorded(eo_emulator.requests, path_prefix=STATISTICS)
    assert checked == 3

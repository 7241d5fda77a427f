"""A Process/Statistical call prepares its request once: bounds checked once, cost only for a budget."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eoclient import geo
from eoclient.emulator import Emulator
from eoclient.sentinelhub import process_body as process_body_module
from eoclient.sentinelhub import process_models
from eoclient.sentinelhub.budget import CostBasis, ProcessingBudget
from eoclient.sentinelhub.cache import REQUEST_FILE, cache_key
from eoclient.sentinelhub.prepared import prepare_process
from tests.integration.conftest import sh_client

pytestmark = pytest.mark.integration

SCRIPT = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04"], output: {bands: 3}}; }
function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }
"""
BBOX = [13.8, 45.8, 14.5, 46.2]
RING = [[13.8, 45.8], [14.5, 45.8], [14.5, 46.2], [13.8, 46.2], [13.8, 45.8]]
TIME = {"timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}}


def process_body(bounds: dict[str, Any]) -> dict[str, Any]:
    return {
        "input": {"bounds": bounds, "data": [{"type": "sentinel-2-l2a", "dataFilter": TIME}]},
        "output": {"width": 16, "height": 16, "responses": [{"format": {"type": "image/png"}}]},
        "evalscript": SCRIPT,
    }


def statistics_body() -> dict[str, Any]:
    return {
        "input": {"bounds": {"bbox": BBOX}, "data": [{"type": "sentinel-2-l2a"}]},
        "aggregation": {
            "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-03T00:00:00Z"},
            "aggregationInterval": {"of": "P1D"},
            "evalscript": SCRIPT,
            "width": 8,
            "height": 8,
        },
    }


def count_calls(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, calls: list[int] | None = None
) -> list[int]:
    """Wrap ``owner.name`` so that each call is counted in the returned list (or in ``calls``)."""
    calls = [] if calls is None else calls
    real: Callable[..., Any] = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.mark.parametrize("budget", [False, True], ids=["no budget", "budget"])
async def test_bounds_are_checked_once_per_call(
    eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, budget: bool
) -> None:
    bbox_checks = count_calls(monkeypatch, process_models, "validate_bbox")
    bbox_checks = count_calls(monkeypatch, process_body_module, "_bbox", calls=bbox_checks)
    geometry_checks = count_calls(monkeypatch, geo, "_check_geometry")
    pacing = ProcessingBudget(pu_per_minute=10_000) if budget else None
    async with sh_client(eo_emulator, budget=pacing) as sh:
        await sh.process(process_body({"bbox": BBOX}))
        assert (len(bbox_checks), len(geometry_checks)) == (1, 0)
        await sh.process(process_body({"geometry": {"type": "Polygon", "coordinates": [RING]}}))
        assert (len(bbox_checks), len(geometry_checks)) == (1, 1)
        await sh.statistics(statistics_body())
        assert (len(bbox_checks), len(geometry_checks)) == (2, 1)
    if pacing is not None:
        assert pacing.requests == 3


async def test_the_cost_is_estimated_only_when_a_budget_asks(
    eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    estimates = count_calls(monkeypatch, CostBasis, "estimate")
    async with sh_client(eo_emulator) as sh:
        await sh.process(process_body({"bbox": BBOX}))
        await sh.statistics(statistics_body())
        assert estimates == []
        sh.budget = ProcessingBudget(pu_per_minute=10_000)
        await sh.process(process_body({"bbox": BBOX}))
        await sh.statistics(statistics_body())
        assert len(estimates) == 2


async def test_the_body_sent_is_the_body_the_cache_keys_on(eo_emulator: Emulator, tmp_path: Path) -> None:
    body = process_body({"bbox": BBOX})
    body["input"]["data"][0]["someFutureOption"] = True
    prepared = prepare_process(body)
    async with sh_client(eo_emulator, cache_dir=tmp_path) as sh:
        await sh.process(body)
        key = cache_key(url=sh.transport.url("/api/v1/process"), accept="image/png", body=prepared.wire)
        stored = tmp_path / key[:2] / key / REQUEST_FILE
        assert msgspec.json.decode(stored.read_bytes()) == prepared.wire
        assert (await sh.process(body)).processing_units == 0.0  # the same request: a hit

"""Recovery from the faults an independent proxy found fatal (issue #9), on the emulator's faults.

A token revoked twice within one call, a streamed Process answer cut short,
and a 429 from a token endpoint whose ``Retry-After`` is in seconds while the
service's own API speaks milliseconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.core.auth import SH_TOKEN_PATH
from eoclient.emulator.sample_client import submit_sample_job
from eoclient.errors import AuthenticationError
from eoclient.sentinelhub import SentinelHub
from tests.conftest import SleepRecorder
from tests.integration.conftest import sh_client

PROCESS = "/api/v1/process"
EVALSCRIPT = (
    "//VERSION=3\nfunction setup(){return {input:['B04'],output:{bands:1,sampleType:'UINT8'}}}\n"
    "function evaluatePixel(s){return [s.B04]}"
)


def process_request(size: int = 400) -> dict:
    return {
        "input": {"bounds": {"bbox": [13.0, 45.0, 13.1, 45.1]}, "data": [{"type": "sentinel-2-l2a"}]},
        "evalscript": EVALSCRIPT,
        "output": {"width": size, "height": size, "responses": [{"format": {"type": "image/tiff"}}]},
    }


def statuses(emu: Emulator, path: str) -> list[int | None]:
    return [r.status for r in emu.requests if r.path == path]


async def test_a_token_revoked_twice_within_one_call_is_survived(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    job = await submit_sample_job(sh)
    path = f"/_sample/jobs/{job.id}"
    eo_emulator.faults.inject("token_expiry", path_prefix=path, count=2)
    assert (await sh.request("GET", path)).status == 200
    assert statuses(eo_emulator, path) == [401, 401, 200]
    token_path = urlsplit(eo_emulator.sentinelhub_token_url).path
    assert statuses(eo_emulator, token_path) == [200, 200, 200]  # first login and two refreshes


async def test_credentials_refused_for_good_end_after_bounded_refreshes(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    job = await submit_sample_job(sh)
    path = f"/_sample/jobs/{job.id}"
    eo_emulator.faults.inject("token_expiry", path_prefix=path, count=10)
    with pytest.raises(AuthenticationError):
        await sh.request("GET", path)
    assert statuses(eo_emulator, path) == [401, 401, 401]


async def test_process_to_file_cut_short_is_rendered_again(eo_emulator: Emulator, tmp_path: Path) -> None:
    async with sh_client(eo_emulator) as sh:
        whole = await sh.process(process_request())
        eo_emulator.faults.inject("drop", path_prefix=PROCESS, count=2)
        got = await sh.process_to_file(process_request(), tmp_path / "scene.tif")
    assert statuses(eo_emulator, PROCESS)[-3:] == [200, 200, 200]  # two broken bodies, then a whole one
    assert [r.fault for r in eo_emulator.requests if r.path == PROCESS][-3:] == ["drop", "drop", None]
    assert (tmp_path / "scene.tif").read_bytes() == whole.content and got.size == len(whole.content)
    assert sorted(os.listdir(tmp_path)) == ["scene.tif"]


async def test_a_token_endpoint_429_is_read_in_seconds(eo_emulator: Emulator, sleeps: SleepRecorder) -> None:
    eo_emulator.faults.inject("rate_limit", path_prefix=SH_TOKEN_PATH, retry_after=2.0)
    async with sh_client(eo_emulator) as sh:
        sh.transport._sleep = sleeps
        await sh.tiling_grids.list().collect()
    # Sentinel Hub's API would mean 2 ms by "2000"; its token endpoint means 2 s by "2".
    assert sleeps.calls == [2.0]
    token = [r for r in eo_emulator.requests if r.path == SH_TOKEN_PATH]
    assert [r.status for r in token] == [429, 200]

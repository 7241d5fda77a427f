"""process_area on the cluster: tiles rendered by the workers, a lazy mosaic equal to one machine's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoclient.dask import AccountLimits, ClusterAccount
from eoclient.sentinelhub import SentinelHub
from tests.dask.conftest import Emulator
from tests.dask.test_cluster_run import spec_of
from tests.extras import need
from tests.integration.test_process_area import AREA, request

np = need("numpy")
need("xarray")
need("tifffile")

pytestmark = pytest.mark.timeout(120)


async def test_the_cluster_mosaic_is_lazy_and_equals_the_one_machine_mosaic(
    dask_client: Any, emulator: dict[str, Any], emu: Emulator, tmp_path: Path
) -> None:
    creds = emulator["credentials"]
    async with ClusterAccount(dask_client, spec_of(emulator), limits=AccountLimits(concurrency=4)) as account:
        result = await account.process_area(
            request(), AREA, tmp_path / "tiles", resolution=10, tile_pixels=40
        )
        assert (await emu.stats())["requests"] == 6  # 6 tiles, rendered by the workers
        lazy = result.data
        assert lazy.chunks is not None  # dask-backed: nothing read yet
        assert lazy.dims == ("y", "x", "band") and lazy.shape == (70, 90, 3)
        computed = await dask_client.compute(lazy)  # the blocks read on the workers
        again = await account.process_area(request(), AREA, tmp_path / "tiles", resolution=10, tile_pixels=40)
    assert len(again.report.skipped) == 6 and (await emu.stats())["requests"] == 6
    async with SentinelHub(
        creds["sh_client_id"],
        creds["sh_client_secret"],
        base_url=emulator["sentinelhub_url"],
        token_url=emulator["sentinelhub_token_url"],
    ) as sh:
        local = await sh.process_area(request(), AREA, resolution=10, tile_pixels=40)
    assert computed.dtype == local.data.dtype
    assert np.array_equal(computed.values, local.data.values)
    assert computed["x"].values.tolist() == local.data["x"].values.tolist()
    assert computed["y"].values.tolist() == local.data["y"].values.tolist()
    assert computed.attrs == local.data.attrs and computed.name == local.data.name
    assert result.processing_units > 0 and again.processing_units == 0

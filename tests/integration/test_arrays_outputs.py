"""Async Process outputs read from the (emulated) store and decoded: ``await out.to_numpy()``."""

from __future__ import annotations

import pytest

from tests.extras import need

np = need("numpy")
need("xarray")
need("obstore")

from eoclient.emulator import Emulator  # noqa: E402
from eoclient.emulator.clients import sentinelhub_client  # noqa: E402
from tests.integration.test_async_outputs import TWO, TWO_RESPONSES  # noqa: E402
from tests.integration.test_async_process import request, s3  # noqa: E402

pytestmark = pytest.mark.eo_emulator(seed=4, clock_speed=400.0)


async def test_each_output_decodes_to_its_array(eo_emulator: Emulator) -> None:
    async with sentinelhub_client(eo_emulator) as sh:
        req = request(
            TWO, responses=TWO_RESPONSES, width=60, height=40
        )  # the emulator delivers at most 64 px
        job = await sh.async_process.create(req, delivery=s3())
        delivery = await job
        by_output = {out.output: out for out in delivery.objects}
        tiff = await by_output["default"].to_numpy()
        png = await by_output["mask"].to_numpy()
        assert tiff.shape == (40, 60) and png.shape == (40, 60)
        da = await by_output["default"].to_xarray()
        assert da.name == "default" and da.dims == ("y", "x", "band")

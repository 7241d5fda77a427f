"""Batch tiling grids against the emulator: paging, one grid, typed properties."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.tiling_grids import GRIDS
from eoclient.errors import NotFoundError, ValidationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.tiling_grids import TilingGrid

PATH = "/api/v2/batch/tilinggrids"


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with SentinelHub(
        eo_emulator.credentials.sh_client_id,
        eo_emulator.credentials.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
    ) as client:
        yield client


async def test_list_follows_paging_to_the_end(sh: SentinelHub, eo_emulator: Emulator) -> None:
    pages = [page async for page in sh.tiling_grids.list().pages()]
    assert [len(p.items) for p in pages] == [4, 2]  # the emulator's default page is 4
    grids = [g for p in pages for g in p.items]
    assert [g.id for g in grids] == [g["id"] for g in GRIDS]
    assert all(isinstance(g, TilingGrid) for g in grids)
    queries = [r.query for r in eo_emulator.requests if r.path == PATH]
    assert len(queries) == 2 and "viewtoken=" in queries[1]

    assert [g.id for g in await sh.tiling_grids.list(count=2).collect()] == [0, 1, 2, 3, 6, 7]
    assert [g.id for g in await sh.tiling_grids.list(max_items=3).collect()] == [0, 1, 2]
    assert len([r for r in eo_emulator.requests if r.path == PATH]) == 2 + 3 + 1


async def test_get_one_grid(sh: SentinelHub) -> None:
    utm = await sh.tiling_grids.get(0)
    assert utm.name == "UTM 20km grid"
    assert utm.properties is not None
    assert (utm.properties.tile_width, utm.properties.tile_height, utm.properties.unit) == (
        20040.0,
        20040.0,
        "METRE",
    )
    assert utm.supports(10) and utm.supports(60.0) and not utm.supports(15)

    wgs = await sh.tiling_grids.get(3)
    assert wgs.properties is not None and wgs.properties.unit == "DEGREE"
    assert wgs.supports(0.0001)

    with pytest.raises(NotFoundError) as err:
        await sh.tiling_grids.get(99)
    assert err.value.status == 404 and err.value.operation == "tiling_grids.get"


@pytest.mark.parametrize("bad", [-1, True, "0", 1.5])
async def test_bad_grid_id_is_refused_before_sending(
    sh: SentinelHub, eo_emulator: Emulator, bad: object
) -> None:
    with pytest.raises(ValidationError) as err:
        await sh.tiling_grids.get(bad)  # type: ignore[arg-type]
    assert err.value.field == "grid_id"
    assert eo_emulator.requests == []


@pytest.mark.parametrize("count", [0, -3, 101])
async def test_bad_count_is_refused_before_sending(
    sh: SentinelHub, eo_emulator: Emulator, count: int
) -> None:
    with pytest.raises(ValidationError) as err:
        sh.tiling_grids.list(count=count)
    assert err.value.field == "count"
    assert eo_emulator.requests == []

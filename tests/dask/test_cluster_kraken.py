"""A released Kraken map's files fetched by the workers' SpaceKnow clients: each once, nothing on rerun."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eoclient.bulk import Downloaded
from eoclient.dask import AccountLimits, ClientSpec, ClusterAccount
from eoclient.emulator import Emulator
from eoclient.errors import ValidationError
from eoclient.spaceknow import SpaceKnow
from tests.dask.test_cluster_run import files_in
from tests.integration.test_sk_kraken import released, scenes_of

pytestmark = pytest.mark.timeout(180)


def grid_gets(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests if r.path.startswith("/kraken/grid/") and r.method == "GET"]


async def test_a_kraken_maps_files_are_fetched_by_the_workers_once_each(
    dask_client: Any, eo_emulator: Emulator, eo_spaceknow: SpaceKnow, tmp_path: Path
) -> None:
    # The emulator runs in this test's loop; the worker processes reach it over TCP while the test awaits.
    emu, sk = eo_emulator, eo_spaceknow
    result = await released(sk, "aircraft", scenes_of("gbdx")[0])
    names = await sk.kraken.grid_files("aircraft")
    creds = emu.credentials
    spec = ClientSpec.spaceknow(
        creds.sk_username, creds.sk_password, base_url=emu.spaceknow_url, auth_url=emu.spaceknow_auth_url
    )
    async with ClusterAccount(dask_client, spec, limits=AccountLimits(concurrency=3)) as account:
        outcomes = [
            o async for o in account.download_map_each(sk.kraken.tiles(result, names), tmp_path, chunk_size=3)
        ]
        first = grid_gets(emu)
        again = await account.download_map(sk.kraken.tiles(result, names), tmp_path)
        with pytest.raises(ValidationError) as caught:
            await account.download_map([object()], tmp_path)  # type: ignore[list-item]
    assert caught.value.field == "tiles[0]"

    expected = sorted(tmp_path / str(z) / str(x) / str(y) / n for z, x, y in result.tiles for n in names)
    assert all(isinstance(o, Downloaded) and not o.skipped for o in outcomes), outcomes
    assert sorted(o.path for o in outcomes if isinstance(o, Downloaded)) == expected  # each file once
    assert files_in(tmp_path) == expected  # and no .part left
    assert len(first) == len(set(first)) == len(expected)  # each grid file asked for once
    assert again.ok and len(again.skipped) == len(expected) and not again.downloaded
    assert grid_gets(emu) == first  # the rerun sent nothing
    # Same layout as one machine's download_map: it finds the whole map on disk.
    local = await sk.kraken.download_map(result, tmp_path, files=names)
    assert len(local.skipped) == len(expected)


async def test_the_workers_apply_the_maps_tile_options_as_one_machine_does(
    dask_client: Any, eo_emulator: Emulator, eo_spaceknow: SpaceKnow, tmp_path: Path
) -> None:
    emu, sk = eo_emulator, eo_spaceknow
    result = await released(sk, "ndvi", scenes_of("pl")[4])
    names = await sk.kraken.grid_files("ndvi")
    assert any(n.endswith(".png") for n in names)
    creds = emu.credentials
    spec = ClientSpec.spaceknow(
        creds.sk_username, creds.sk_password, base_url=emu.spaceknow_url, auth_url=emu.spaceknow_auth_url
    )
    async with ClusterAccount(dask_client, spec) as account:
        with pytest.raises(ValidationError) as caught:
            await account.download_map(sk.kraken.tiles(result, names), tmp_path / "bad", user_threshold=1.5)
        report = await account.download_map(
            sk.kraken.tiles(result, names), tmp_path / "cluster", user_threshold=0.25
        )
    assert caught.value.field == "user_threshold" and not (tmp_path / "bad").exists()
    assert report.ok and report.downloaded
    pngs = [r.query for r in emu.requests if r.path.startswith("/kraken/grid/") and r.path.endswith(".png")]
    assert pngs and all("user_threshold=0.25" in q for q in pngs), pngs
    others = [
        r.query for r in emu.requests if r.path.startswith("/kraken/grid/") and not r.path.endswith(".png")
    ]
    assert all("user_threshold" not in q for q in others), others  # only the files it applies to
    # The same bytes as one machine's download with the same option (thresholded: other than without).
    local = await sk.kraken.download_map(result, tmp_path / "local", files=names, user_threshold=0.25)
    plain = await sk.kraken.download_map(result, tmp_path / "plain", files=names)
    assert local.ok and plain.ok
    for got in report.downloaded:
        relative = got.path.relative_to(tmp_path / "cluster")
        assert got.path.read_bytes() == (tmp_path / "local" / relative).read_bytes(), relative
    differs = [
        got.path
        for got in report.downloaded
        if got.path.suffix == ".png"
        and got.path.read_bytes()
        != (tmp_path / "plain" / got.path.relative_to(tmp_path / "cluster")).read_bytes()
    ]
    assert differs

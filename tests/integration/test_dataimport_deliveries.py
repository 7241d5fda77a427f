"""Data Import deliveries against the emulator: files, archives, tiles; subscriptions as Jobs."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import pytest

from eoclient.emulator import Emulator
from eoclient.errors import ConflictError, JobCancelledError, NotFoundError, ValidationError
from eoclient.jobs import JobState, resume_job
from eoclient.sentinelhub import SentinelHub
from tests.integration.test_dataimport import PLANET_ORDER

SUBSCRIPTION: dict[str, Any] = {
    "name": "watch",
    "input": {
        "provider": "PLANET",
        "planetApiKey": "pl-key",
        "bounds": {"bbox": [14.0, 46.0, 14.05, 46.05]},
        "data": [
            {
                "itemType": "PSScene",
                "productBundle": "analytic_sr_udm2",
                "harmonizeTo": "NONE",
                "dataFilter": {"timeRange": {"from": "2024-01-01T00:00:00Z"}},
            }
        ],
    },
}


async def test_files_archives_and_tiles_of_a_delivery(
    sh: SentinelHub, eo_emulator: Emulator, tmp_path: Path
) -> None:
    quote = await sh.dataimport.quote(PLANET_ORDER)
    job = await sh.dataimport.confirm_order(quote.id)
    deliveries = sh.dataimport.order_deliveries
    first = (await deliveries.list(quote.id).collect())[0]
    assert first.status == "WAITING"
    with pytest.raises(ConflictError):  # no files before DONE
        await deliveries.files(quote.id, first.id).collect()
    with pytest.raises(ConflictError):
        await deliveries.create_archive(quote.id, first.id)

    eo_emulator.clock.advance(30)  # delivered and ingested
    await job
    names = await deliveries.files(quote.id, first.id).collect()
    assert len(names) == 3 and all("/" in n for n in names)  # files sit in the item's folder
    tif = next(n for n in names if n.endswith(".tif"))
    got = await deliveries.download_file(quote.id, first.id, tif, tmp_path / "scene.tif")
    assert got.size == await deliveries.file_size(quote.id, first.id, tif) == got.path.stat().st_size

    archive_job = await deliveries.create_archive(quote.id, first.id)
    with pytest.raises(ConflictError):  # asked for already
        await deliveries.create_archive(quote.id, first.id)
    token = archive_job.resume_token
    eo_emulator.clock.advance(5)
    archive = await resume_job(token, sh)
    assert archive.status == "DONE" and archive.size
    assert (await deliveries.archive_status(quote.id, first.id)).size == archive.size
    zipped = await deliveries.download_archive(quote.id, first.id, tmp_path / "d.zip")
    assert zipped.size == archive.size
    with zipfile.ZipFile(zipped.path) as z:
        assert sorted(z.namelist()) == sorted(names)
        assert z.read(tif) == got.path.read_bytes()

    tiles = await deliveries.tiles(quote.id, first.id)
    assert len(tiles) == 1 and tiles[0].status == "INGESTED" and tiles[0].delivery_id == first.id
    assert (await deliveries.tile(quote.id, first.id, tiles[0].id)).id == tiles[0].id
    coll = await sh.dataimport.order_collection(quote.id)
    assert (await sh.byoc.tile(coll.id, tiles[0].id)).status == "INGESTED"
    with pytest.raises(NotFoundError):
        await deliveries.get(quote.id, tiles[0].id)  # not a delivery id
    with pytest.raises(ValidationError, match="delivery_id"):
        await deliveries.get(quote.id, "nope")
    with pytest.raises(ValidationError, match="status"):
        deliveries.list(quote.id, status="SHIPPED")


async def test_subscription_runs_until_cancelled(sh: SentinelHub, eo_emulator: Emulator) -> None:
    sub = await sh.dataimport.create_subscription(SUBSCRIPTION)
    assert sub.status == "CREATED" and sub.sqkm and 20 < sub.sqkm < 25
    with pytest.raises(ConflictError):  # only RUNNING ones can be cancelled
        await sh.dataimport.cancel_subscription(sub.id)
    job = await sh.dataimport.confirm_subscription(sub.id)
    assert job.status is not None and job.status.state is JobState.RUNNING
    with pytest.raises(ConflictError):
        await sh.dataimport.delete_subscription(sub.id)

    eo_emulator.clock.advance(35)  # three periods: three deliveries
    got = await sh.dataimport.subscription_deliveries.list(sub.id).collect()
    assert len(got) == 3
    assert (await sh.dataimport.subscription(sub.id)).status == "RUNNING"
    assert await job.cancel() is True
    with pytest.raises(JobCancelledError):
        await job
    assert (await sh.dataimport.subscription(sub.id)).status == "CANCELLED"
    eo_emulator.clock.advance(60)
    assert len(await sh.dataimport.subscription_deliveries.list(sub.id).collect()) == 3  # no more

    coll = (await sh.dataimport.subscription(sub.id)).collection_id
    assert coll is not None and len(await sh.byoc.tiles(coll).collect()) == 3
    assert [s.id for s in await sh.dataimport.subscriptions(status="CANCELLED").collect()] == [sub.id]
    await sh.dataimport.delete_subscription(sub.id)
    assert [s.id for s in await sh.dataimport.subscriptions(deleted=True).collect()] == [sub.id]


async def test_subscription_completes_at_the_end_of_its_time_range(
    sh: SentinelHub, eo_emulator: Emulator
) -> None:
    from eoclient.emulator.sentinelhub.byoc.data import iso

    body = copy.deepcopy(SUBSCRIPTION)
    span = body["input"]["data"][0]["dataFilter"]["timeRange"]
    span["to"] = iso(eo_emulator.clock.now() + 25)
    sub = await sh.dataimport.create_subscription(body)
    job = await sh.dataimport.confirm_subscription(sub.id)
    eo_emulator.clock.advance(60)
    deliveries = [d async for d in await job]
    assert len(deliveries) == 2 and all(d.status == "DONE" for d in deliveries)
    assert job.status is not None and job.status.raw == "COMPLETED"


async def test_subscription_requests_are_checked(sh: SentinelHub, eo_emulator: Emulator) -> None:
    sent = len(eo_emulator.requests)
    cases = [
        ({"provider": "MAXAR"}, "subscription.input.provider"),
        ({"planetApiKey": None}, "subscription.input.planetApiKey"),
        ({"data": [{**SUBSCRIPTION["input"]["data"][0], "dataFilter": {}}]}, "timeRange"),
        ({"data": [{**SUBSCRIPTION["input"]["data"][0], "productBundle": "analytic"}]}, "productBundle"),
        ({"data": [{"type": "biomass_proxy", "dataFilter": {"timeRange": {"from": "2024-01-01"}}}]}, "from"),
    ]
    for change, field in cases:
        body = copy.deepcopy(SUBSCRIPTION)
        body["input"].update(change)
        with pytest.raises(ValidationError) as err:
            await sh.dataimport.create_subscription(body)
        assert field in err.value.field
    assert len(eo_emulator.requests) == sent


# The clock all but stands still: the tests move it, so what they see before and after is certain.
pytestmark = pytest.mark.eo_emulator(seed=12, clock_speed=0.001)

"""Creates and actions whose answer is lost: the resource is found and returned, or the error says where.

Each test makes the emulator run the handler (the create happens) and then
lose the answer: ``drop`` breaks the connection mid-body, ``server_error_after``
answers a 5xx instead. Before, the client raised TransportError/ServerError
and the resource it had made was an orphan nobody knew about.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from eoclient._outcome import created_id
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.async_process_engine import async_store
from eoclient.emulator.sentinelhub.batch_engine import batch_store
from eoclient.emulator.sentinelhub.batch_statistics_engine import batch_statistics_store
from eoclient.emulator.spaceknow.accounts import accounts
from eoclient.emulator.spaceknow.credits import ledger
from eoclient.errors import BadRequestError, ConflictError, OutcomeUnknownError, ServerError, TransportError
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow
from tests.integration.test_async_process import request as async_request
from tests.integration.test_async_process import s3 as async_s3
from tests.integration.test_batch import corsica
from tests.integration.test_batch_statistics import request as statistics_request
from tests.integration.test_batch_v1 import legacy
from tests.integration.test_sk_imagery import PRAGUE_POLYGON, PSSCENE
from tests.integration.test_sk_kraken import around, scenes_of

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)

V2 = "/api/v2/batch/process"
V1 = "/api/v1/batch/process"
STATISTICS = "/api/v1/statistics/batch"
BYOC = "/api/v1/byoc/collections"
LOST = ["drop", "server_error_after"]


def lose_next_post(emu: Emulator, kind: str, path: str) -> None:
    """The next POST exactly to ``path`` runs, and its answer is lost."""
    emu.faults.inject(kind, path_prefix=path, method="POST", status=502)  # type: ignore[arg-type]


def posts(emu: Emulator, path: str) -> list[Any]:
    return [r for r in emu.requests if r.method == "POST" and r.path == path]


def v2_records(emu: Emulator) -> dict[str, Any]:
    return {k: r for k, r in batch_store(emu.state).records.items() if r.api == "v2"}


# -- Batch v2 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_batch_create_with_a_lost_answer_returns_the_request(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    older = await sh.batch.create(corsica())  # the same body, made before: must not be taken for it
    lose_next_post(eo_emulator, kind, V2)
    created = await sh.batch.create(corsica())
    records = v2_records(eo_emulator)
    assert len(records) == 2 and created.id in records and created.id != older.id
    assert created.status == "CREATED" and created.description == "Max NDVI over Corsica"
    assert len(posts(eo_emulator, V2)) == 2  # looked up, never sent twice


async def test_an_account_that_cannot_list_still_creates(eo_emulator: Emulator, sh: SentinelHub) -> None:
    # The fence (the newest request before the create) cannot be read: the create goes all the same.
    eo_emulator.faults.inject("server_error", path_prefix=V2, method="GET", status=403, count=2)
    created = await sh.batch.create(corsica())
    assert created.id in v2_records(eo_emulator)
    # ... and a lost answer then says how to find the request instead of looking it up.
    lose_next_post(eo_emulator, "drop", V2)
    with pytest.raises(OutcomeUnknownError, match="Look for") as info:
        await sh.batch.create(corsica())
    assert isinstance(info.value.__cause__, TransportError)
    assert len(v2_records(eo_emulator)) == 2


async def test_batch_create_that_did_not_happen_says_how_to_find(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    await sh.batch.create(corsica())
    # A 503 before the handler: nothing was made, the lookup finds nothing newer.
    eo_emulator.faults.inject("server_error", path_prefix=V2, method="POST", status=503)
    with pytest.raises(OutcomeUnknownError) as info:
        await sh.batch.create(corsica())
    assert isinstance(info.value.__cause__, ServerError)
    assert info.value.candidates == ()
    assert "sh.batch.requests(sort='created:desc')" in str(info.value)
    assert "Max NDVI over Corsica" in info.value.how_to_find
    assert len(v2_records(eo_emulator)) == 1


async def test_batch_create_refused_is_not_looked_up(eo_emulator: Emulator, sh: SentinelHub) -> None:
    body = corsica()
    body["input"]["resolution"] = 7.0  # not a resolution of grid 0: the service says 400
    with pytest.raises(BadRequestError):
        await sh.batch.create(body)
    assert [r.method for r in eo_emulator.requests if r.path == V2] == ["GET", "POST"]  # fence, create


async def test_batch_run_with_a_lost_create_answer_runs_the_request(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    lose_next_post(eo_emulator, "drop", V2)
    job = await sh.batch.run(corsica())
    done = await job
    assert done.status == "DONE"
    assert list(v2_records(eo_emulator)) == [done.id]


@pytest.mark.parametrize("kind", LOST)
async def test_batch_action_with_a_lost_answer_is_checked(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    created = await sh.batch.create(corsica())
    lose_next_post(eo_emulator, kind, f"{V2}/{created.id}/analyse")
    await sh.batch.analyse(created.id)  # it happened: no error
    assert (await sh.batch.get(created.id)).user_action == "ANALYSE"


async def test_batch_action_that_did_not_happen_raises_the_original_error(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    created = await sh.batch.create(corsica())
    eo_emulator.faults.inject("server_error", path_prefix=f"{V2}/{created.id}/analyse", status=503)
    with pytest.raises(ServerError) as info:
        await sh.batch.analyse(created.id)
    assert any("can be sent again" in note for note in info.value.__notes__)
    assert (await sh.batch.get(created.id)).status == "CREATED"


@pytest.mark.parametrize(
    ("family", "path", "body"),
    [("v2", V2, corsica), ("v1", V1, legacy)],
)
async def test_batch_run_never_drops_a_created_request(
    eo_emulator: Emulator, sh: SentinelHub, family: str, path: str, body: Any
) -> None:
    api = sh.batch if family == "v2" else sh.batch.v1
    # The analyse fails before reaching the service (a 503 from a proxy): nothing moved.
    eo_emulator.faults.inject("server_error", path_prefix=f"{path}/", method="POST", status=503)
    with pytest.raises(ServerError) as info:
        await api.run(body())
    records = [r for r in batch_store(eo_emulator.state).records.values() if r.api == family]
    assert len(records) == 1
    request_id = records[0].id
    assert created_id(info.value) == request_id
    assert any(request_id in note and ".run(" in note for note in info.value.__notes__)
    job = await api.run(request_id)  # the note's advice works
    assert (await job).status == "DONE"


# -- legacy batch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_legacy_batch_create_with_a_lost_answer_returns_the_request(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    lose_next_post(eo_emulator, kind, V1)
    created = await sh.batch.v1.create(legacy())
    records = [r for r in batch_store(eo_emulator.state).records.values() if r.api == "v1"]
    assert [r.id for r in records] == [created.id]
    assert created.bucket_name == "my-bucket"


# -- Batch Statistical -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_batch_statistics_create_with_a_lost_answer_returns_its_job(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    await sh.batch_statistics.create(statistics_request())
    lose_next_post(eo_emulator, kind, STATISTICS)
    job = await sh.batch_statistics.create(statistics_request())
    requests = batch_statistics_store(eo_emulator.state).requests
    assert len(requests) == 2 and job.id in requests
    assert len(posts(eo_emulator, STATISTICS)) == 2


async def test_batch_statistics_start_after_create_never_drops_the_request(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    eo_emulator.faults.inject("server_error", path_prefix=f"{STATISTICS}/", method="POST", status=503)
    with pytest.raises(ServerError) as info:
        await sh.batch_statistics.create(statistics_request(), start=True)
    (request_id,) = batch_statistics_store(eo_emulator.state).requests
    assert created_id(info.value) == request_id
    assert any(request_id in note for note in info.value.__notes__)


async def test_batch_statistics_start_with_a_lost_answer_is_checked(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    job = await sh.batch_statistics.create(statistics_request())
    lose_next_post(eo_emulator, "drop", f"{STATISTICS}/{job.id}/start")
    await sh.batch_statistics.start(job)
    assert (await sh.batch_statistics.get(job)).user_action == "START"


async def test_identical_creates_at_once_are_never_confused(eo_emulator: Emulator, sh: SentinelHub) -> None:
    # A is slow (still being sent), B's answer is lost: B must get its own request, not A's.
    eo_emulator.faults.inject("latency", path_prefix=V2, method="POST", seconds=0.3)
    lose_next_post(eo_emulator, "server_error_after", V2)
    got: dict[str, Any] = {}

    async def create(name: str) -> None:
        got[name] = await sh.batch.create(corsica())

    async with anyio.create_task_group() as tg:
        tg.start_soon(create, "A")
        await anyio.sleep(0.1)
        tg.start_soon(create, "B")
    assert got["A"].id != got["B"].id
    assert set(v2_records(eo_emulator)) == {got["A"].id, got["B"].id}
    assert [r.fault for r in posts(eo_emulator, V2)] == ["latency", "server_error_after"]


async def test_identical_creates_both_lost_never_share_a_request(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    lose_next_post(eo_emulator, "server_error_after", V2)
    lose_next_post(eo_emulator, "drop", V2)
    outcomes: list[Any] = []

    async def create() -> None:
        try:
            outcomes.append(await sh.batch.create(corsica()))
        except OutcomeUnknownError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(create)
        tg.start_soon(create)
    records = set(v2_records(eo_emulator))
    assert len(records) == 2
    returned = [o.id for o in outcomes if not isinstance(o, OutcomeUnknownError)]
    assert len(set(returned)) == len(returned) and set(returned) <= records
    # Whoever could not tell which one is its own says so, naming both (timing decides who).
    for error in (o for o in outcomes if isinstance(o, OutcomeUnknownError)):
        assert set(error.candidates) == records


# -- BYOC ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_byoc_tile_create_with_a_lost_answer_returns_the_tile(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    coll = await sh.byoc.create_collection({"name": "tiles", "s3Bucket": "my-bucket"})
    tiles_path = f"{BYOC}/{coll.id}/tiles"
    lose_next_post(eo_emulator, kind, tiles_path)
    tile = await sh.byoc.create_tile(
        coll.id, {"path": "2024/a_(BAND)", "sensingTime": "2024-08-24T10:15:22Z"}
    )
    assert tile.path == "2024/a_(BAND)" and tile.id
    assert [t.id for t in await sh.byoc.tiles(coll.id).collect()] == [tile.id]
    assert len(posts(eo_emulator, tiles_path)) == 1


async def test_byoc_tile_create_that_did_not_happen_says_how_to_find(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    coll = await sh.byoc.create_collection({"name": "tiles", "s3Bucket": "my-bucket"})
    eo_emulator.faults.inject(
        "server_error", path_prefix=f"{BYOC}/{coll.id}/tiles", method="POST", status=504
    )
    with pytest.raises(OutcomeUnknownError) as info:
        await sh.byoc.create_tile(coll.id, {"path": "2024/b_(BAND)"})
    assert "path='2024/b_(BAND)'" in info.value.how_to_find
    assert await sh.byoc.tiles(coll.id).collect() == []


@pytest.mark.parametrize("kind", LOST)
async def test_byoc_collection_create_with_a_lost_answer_returns_it(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    older = await sh.byoc.create_collection({"name": "my ndvi", "s3Bucket": "my-bucket"})
    await sh.byoc.create_collection({"name": "my ndvi 2", "s3Bucket": "my-bucket"})
    lose_next_post(eo_emulator, kind, BYOC)
    coll = await sh.byoc.create_collection({"name": "my ndvi", "s3Bucket": "my-bucket"})
    assert coll.id != older.id and coll.name == "my ndvi"
    named = [c.id for c in await sh.byoc.collections().collect() if c.name == "my ndvi"]
    assert sorted(named) == sorted([older.id, coll.id])
    assert len(posts(eo_emulator, BYOC)) == 3


@pytest.mark.parametrize("kind", LOST)
async def test_legacy_batch_collection_create_with_a_lost_answer_returns_it(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    lose_next_post(eo_emulator, kind, "/api/v1/batch/collections")
    coll = await sh.batch.v1.create_collection({"name": "results", "s3Bucket": "my-bucket"})
    assert [c.id for c in await sh.batch.v1.collections().collect()] == [coll.id]


# -- Async Process --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_async_process_create_with_a_lost_answer_says_where_to_look(
    eo_emulator: Emulator, sh: SentinelHub, kind: str
) -> None:
    lose_next_post(eo_emulator, kind, "/api/v1/async/process")
    with pytest.raises(OutcomeUnknownError) as info:
        await sh.async_process.create(async_request(), delivery=async_s3())
    assert "s3://my-bucket/async" in info.value.how_to_find
    assert len(async_store(eo_emulator.state).requests) == 1  # it did run: the error says so
    assert len(posts(eo_emulator, "/api/v1/async/process")) == 1


# -- SpaceKnow ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOST)
async def test_kraken_release_with_a_lost_answer_points_at_the_credits(
    eo_emulator: Emulator, sk: SpaceKnow, kind: str
) -> None:
    scene = scenes_of("pl")[0]
    lose_next_post(eo_emulator, kind, "/kraken/release/initiate")
    with pytest.raises(OutcomeUnknownError) as info:
        await sk.kraken.release("trees", [scene["sceneId"]], around(scene))
    assert "sk.credits.transactions()" in str(info.value)
    assert isinstance(info.value.__cause__, TransportError | ServerError)
    assert len(posts(eo_emulator, "/kraken/release/initiate")) == 1


async def test_kraken_dry_run_that_allocates_is_not_sent_twice(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes_of("pl", area="perth")[0]
    lose_next_post(eo_emulator, "drop", "/kraken/dry-run/initiate")
    with pytest.raises(OutcomeUnknownError) as info:
        await sk.kraken.dry_run(
            [{"mapTypes": ["aircraft"], "scenes": [[scene["sceneId"]]]}], around(scene), allocate=True
        )
    assert "credit.allocate" in str(info.value)
    assert len(posts(eo_emulator, "/kraken/dry-run/initiate")) == 1
    allocated = [a for a in ledger(eo_emulator.state).allocations if a["sceneId"] == scene["sceneId"]]
    assert len(allocated) == 1  # it happened, once


async def test_kraken_dry_run_without_allocate_is_retried(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    scene = scenes_of("pl")[0]
    lose_next_post(eo_emulator, "drop", "/kraken/dry-run/initiate")
    result = await (
        await sk.kraken.dry_run([{"mapTypes": ["aircraft"], "scenes": [[scene["sceneId"]]]}], around(scene))
    )
    assert result.allocated_credits == 0
    assert len(posts(eo_emulator, "/kraken/dry-run/initiate")) == 2


async def test_imagery_search_with_a_lost_answer_is_retried(eo_emulator: Emulator, sk: SpaceKnow) -> None:
    lose_next_post(eo_emulator, "drop", "/imagery/search/initiate")
    scenes = await sk.imagery.search([PSSCENE], PRAGUE_POLYGON, max_items=3).collect()
    assert len(scenes) == 3
    assert [r.fault for r in posts(eo_emulator, "/imagery/search/initiate")] == ["drop", None]


@pytest.mark.parametrize("kind", LOST)
async def test_guardian_user_create_with_a_lost_answer_names_the_email(
    eo_emulator: Emulator, sk: SpaceKnow, kind: str
) -> None:
    lose_next_post(eo_emulator, kind, "/user/guardian-user/create")
    with pytest.raises(OutcomeUnknownError) as info:
        await sk.users.create_guardian_user("gina@example.com", "a-long-initial-password", "Gina")
    assert "gina@example.com" in info.value.how_to_find
    assert accounts(eo_emulator.state).by_email("gina@example.com") is not None
    with pytest.raises(ConflictError):  # what the error says to do tells that it was created
        await sk.users.create_guardian_user("gina@example.com", "a-long-initial-password", "Gina")


# -- the emulator's fault -------------------------------------------------------------------------------


async def test_server_error_after_runs_the_handler_then_answers_5xx(
    eo_emulator: Emulator, sh: SentinelHub
) -> None:
    await sh.authenticate()
    eo_emulator.faults.inject("server_error_after", path_prefix=V2, method="POST", status=504)
    response = await sh.request("POST", V2, json=corsica(), ok={504: True})
    assert response.status == 504 and response.json()["error"]["status"] == 504
    assert len(v2_records(eo_emulator)) == 1

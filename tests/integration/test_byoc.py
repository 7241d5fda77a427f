"""BYOC against the emulator: collections, tiles, band and copy rules, validation, Planet file downloads."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.byoc import INGEST_SECONDS, byoc_store, file_bytes
from eoclient.errors import BadRequestError, ConflictError, NotFoundError, TransportError, ValidationError
from eoclient.sentinelhub import SentinelHub
from eoclient.sentinelhub.byoc import DownloadSizeError
from eoclient.sentinelhub.byoc_models import (
    BandFormat,
    Collection,
    CollectionAdditionalData,
    Tile,
    TileUpdate,
)
from tests.extras import need

PLANET_BUCKET = "sh.tpdi.byoc.eu-central-1"
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[14.0, 46.0], [14.2, 46.0], [14.2, 46.2], [14.0, 46.2], [14.0, 46.0]]],
}
BANDS = {
    "B1": {"bitDepth": 16, "sampleFormat": "UINT", "bandIndex": 1},
    "B2": {"bitDepth": 16, "sampleFormat": "UINT", "bandIndex": 2},
}


@pytest.fixture
async def sh(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    async with SentinelHub(
        eo_emulator.credentials.sh_client_id,
        eo_emulator.credentials.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url,
        token_url=eo_emulator.sentinelhub_token_url,
        retry=RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02),
    ) as client:
        yield client


async def ingested(emu: Emulator) -> None:
    emu.clock.advance(INGEST_SECONDS + 1)


# -- collections ---------------------------------------------------------------------------


async def test_collection_crud(sh: SentinelHub) -> None:
    model = Collection(
        name="ndvi",
        s3_bucket="my-bucket",
        additional_data=CollectionAdditionalData(
            bands={"NDVI": BandFormat(bit_depth=32, sample_format="FLOAT", no_data=-1.0)}
        ),
    )
    coll = await sh.byoc.create_collection(model)
    assert coll.id and coll.name == "ndvi" and coll.s3_bucket == "my-bucket"
    assert coll.is_configured is True
    assert coll.bands["NDVI"].sample_format == "FLOAT" and coll.bands["NDVI"].no_data == -1.0
    assert coll.created is not None

    plain = await sh.byoc.create_collection({"name": "plain", "s3Bucket": "other-bucket", "noData": 0})
    assert plain.is_configured is False and plain.no_data == 0 and plain.bands == {}

    again = await sh.byoc.collection(coll.id)
    assert again.id == coll.id and again.bands.keys() == {"NDVI"}
    assert (await sh.byoc.collection(f"byoc-{coll.id}")).id == coll.id  # the Process API spelling

    # Update from the fetched model: read-only fields are not sent, the name changes.
    again.name = "ndvi v2"
    await sh.byoc.update_collection(coll.id, again)
    assert (await sh.byoc.collection(coll.id)).name == "ndvi v2"

    # An update without noData deletes it; without additionalData keeps the bands.
    await sh.byoc.update_collection(plain.id, {"name": "plain", "s3Bucket": "moved-bucket"})
    updated = await sh.byoc.collection(plain.id)
    assert updated.no_data is None and updated.s3_bucket == "moved-bucket"

    await sh.byoc.delete_collection(coll.id)
    with pytest.raises(NotFoundError) as err:
        await sh.byoc.collection(coll.id)
    assert err.value.status == 404 and err.value.operation == "byoc.collection"


async def test_collections_page_to_the_end_with_search(sh: SentinelHub, eo_emulator: Emulator) -> None:
    for i in range(7):
        await sh.byoc.create_collection({"name": f"alpha {i}", "s3Bucket": "bucket-a"})
    for i in range(5):
        await sh.byoc.create_collection({"name": f"beta {i}", "s3Bucket": "bucket-b"})
    eo_emulator.requests.clear()  # each create reads the collections of its name first

    everything = sh.byoc.collections()
    pages = [page async for page in everything.pages()]
    assert [len(p.items) for p in pages] == [5, 5, 2]  # the emulator's default page is 5
    names = [c.name for p in pages for c in p.items]
    assert names == [f"alpha {i}" for i in range(7)] + [f"beta {i}" for i in range(5)]
    listing = [r for r in eo_emulator.requests if r.path == "/api/v1/byoc/collections" and r.method == "GET"]
    assert len(listing) == 3 and "viewtoken=" in listing[1].query

    alphas = await sh.byoc.collections(search="alpha", count=3).collect()
    assert [c.name for c in alphas] == [f"alpha {i}" for i in range(7)]
    assert len(await sh.byoc.collections(search="alpha|beta").collect()) == 12
    assert [c.name for c in await sh.byoc.collections(search="beta&3").collect()] == ["beta 3"]
    assert await sh.byoc.collections(search="gamma").collect() == []
    assert len(await sh.byoc.collections(max_items=6).collect()) == 6


# -- tiles ---------------------------------------------------------------------------------


async def test_tile_lifecycle(sh: SentinelHub, eo_emulator: Emulator) -> None:
    coll = await sh.byoc.create_collection({"name": "tiles", "s3Bucket": "bucket"})
    tile = await sh.byoc.create_tile(
        coll.id,
        Tile(path="2024/scene_(BAND)", cover_geometry=SQUARE, sensing_time="2024-08-24T10:15:22.5+02:00"),
    )
    assert tile.status == "WAITING" and not tile.is_final
    assert (
        tile.sensing_time is not None and tile.sensing_time.isoformat() == "2024-08-24T08:15:22.500000+00:00"
    )
    bad = await sh.byoc.create_tile(coll.id, {"path": "2024/fail_(BAND)"})

    await ingested(eo_emulator)
    done = await sh.byoc.tile(coll.id, tile.id)
    assert done.status == "INGESTED" and done.is_final
    assert done.tile_geometry is not None and done.cover_geometry == SQUARE
    failed = await sh.byoc.tile(coll.id, bad.id)
    assert failed.status == "FAILED"
    assert failed.additional_data is not None and failed.additional_data.failed_ingestion_cause

    after = await sh.byoc.collection(coll.id)
    assert after.additional_data is not None and after.additional_data.extent is not None
    assert after.additional_data.has_sensing_times == "YES"

    await sh.byoc.update_tile(coll.id, tile.id, {"sensingTime": "2024-09-01T00:00:00Z"})
    assert (await sh.byoc.tile(coll.id, tile.id)).sensing_time.isoformat() == "2024-09-01T00:00:00+00:00"  # type: ignore[union-attr]
    await sh.byoc.update_tile(coll.id, tile.id, TileUpdate(cover_geometry=SQUARE))  # sensingTime -> null
    cleared = await sh.byoc.tile(coll.id, tile.id)
    assert cleared.sensing_time is None and cleared.cover_geometry == SQUARE

    await sh.byoc.reingest_tile(coll.id, bad.id)
    assert (await sh.byoc.tile(coll.id, bad.id)).status == "WAITING"
    with pytest.raises(ConflictError):
        await sh.byoc.reingest_tile(coll.id, bad.id)  # still being ingested
    await ingested(eo_emulator)
    assert (await sh.byoc.tile(coll.id, bad.id)).status == "FAILED"

    with pytest.raises(ConflictError):
        await sh.byoc.create_tile(coll.id, {"path": "2024/scene_(BAND)"})  # the path exists

    await sh.byoc.delete_tile(coll.id, bad.id)
    with pytest.raises(NotFoundError):
        await sh.byoc.tile(coll.id, bad.id)
    assert [t.id for t in await sh.byoc.tiles(coll.id).collect()] == [tile.id]


async def test_tiles_page_to_the_end_with_filters(sh: SentinelHub, eo_emulator: Emulator) -> None:
    coll = await sh.byoc.create_collection({"name": "many tiles", "s3Bucket": "bucket"})
    paths = [f"t/{i:02d}{'-fail' if i % 4 == 0 else ''}" for i in range(12)]
    for path in paths:
        await sh.byoc.create_tile(coll.id, {"path": path})

    pages = [page async for page in sh.byoc.tiles(coll.id).pages()]
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert [t.path for p in pages for t in p.items] == paths
    newest_first = await sh.byoc.tiles(coll.id, sort="created:desc", count=4).collect()
    assert [t.path for t in newest_first] == paths[::-1]
    assert [t.path for t in await sh.byoc.tiles(coll.id, sort="created:asc").collect()] == paths

    assert await sh.byoc.tiles(coll.id, status="INGESTED").collect() == []
    await ingested(eo_emulator)
    failed = await sh.byoc.tiles(coll.id, status="FAILED", count=2).collect()
    assert [t.path for t in failed] == [p for p in paths if "fail" in p]
    ok = await sh.byoc.tiles(coll.id, status="INGESTED").collect()
    assert len(ok) == 9 and all(t.status == "INGESTED" for t in ok)

    exact = await sh.byoc.tiles(coll.id, path="t/05").collect()
    assert [t.path for t in exact] == ["t/05"]
    assert await sh.byoc.tiles(coll.id, path="t/5").collect() == []
    assert len(await sh.byoc.tiles(coll.id, max_items=7).collect()) == 7

    with pytest.raises(NotFoundError):
        await sh.byoc.tiles("00000000-0000-4000-8000-000000000000").collect()

    # The OpenAPI declares ``status`` as JSON content: the emulator takes it quoted too.
    raw = f"/api/v1/byoc/collections/{coll.id}/tiles"
    quoted = (await sh.request("GET", raw, params={"status": '"FAILED"', "count": 100})).json()
    assert len(quoted["data"]) == 3 and "nextToken" not in quoted["links"]
    with pytest.raises(BadRequestError, match="viewtoken"):
        await sh.request("GET", raw, params={"viewtoken": "not-a-token"})


# -- band and copy rules -------------------------------------------------------------------


def band_update(name: str = "bands", **bands: Any) -> dict[str, Any]:
    return {"name": name, "s3Bucket": "bucket", "additionalData": {"bands": bands}}


async def test_bands_are_fixed_once_a_tile_exists(sh: SentinelHub) -> None:
    coll = await sh.byoc.create_collection(band_update(**BANDS))
    # Empty collection: bands may be added or changed freely (the sample format excepted).
    wider = {**BANDS, "B3": {"bitDepth": 8, "sampleFormat": "UINT", "bandIndex": 3}}
    await sh.byoc.update_collection(coll.id, band_update(**wider))
    with pytest.raises(BadRequestError, match="sample format"):
        await sh.byoc.update_collection(
            coll.id, band_update(**{**wider, "B3": {"bitDepth": 8, "sampleFormat": "INT"}})
        )

    await sh.byoc.create_tile(coll.id, {"path": "t/one"})
    current = (await sh.byoc.collection(coll.id)).bands
    assert current.keys() == {"B1", "B2", "B3"}
    fixed = {k: b.to_dict() for k, b in current.items()}

    with pytest.raises(BadRequestError, match="cannot be added") as err:
        await sh.byoc.update_collection(
            coll.id, band_update(**fixed, B4={"bitDepth": 8, "sampleFormat": "UINT", "bandIndex": 4})
        )
    assert err.value.status == 400 and err.value.code == "COMMON_BAD_PAYLOAD"
    with pytest.raises(BadRequestError, match="bitDepth"):
        await sh.byoc.update_collection(
            coll.id, band_update(**{**fixed, "B1": {**fixed["B1"], "bitDepth": 32}})
        )
    with pytest.raises(BadRequestError, match="bandIndex"):
        await sh.byoc.update_collection(
            coll.id, band_update(**{**fixed, "B2": {**fixed["B2"], "bandIndex": 7}})
        )
    with pytest.raises(BadRequestError, match="empty the collection"):
        await sh.byoc.update_collection(coll.id, {"name": "x", "s3Bucket": "bucket", "additionalData": {}})
    with pytest.raises(BadRequestError, match="s3Bucket"):
        await sh.byoc.update_collection(coll.id, {"name": "x", "s3Bucket": "another-bucket"})

    # Allowed: rename B1 -> RED, set a noData on B2, remove B3.
    renamed = {"RED": fixed["B1"], "B2": {**fixed["B2"], "noData": 0}}
    await sh.byoc.update_collection(coll.id, band_update(**renamed))
    after = (await sh.byoc.collection(coll.id)).bands
    assert after.keys() == {"RED", "B2"}
    assert after["RED"].bit_depth == 16 and after["RED"].source == "B1"  # still reads the same files
    assert after["B2"].no_data == 0


async def test_copy_tiles_only_between_matching_bands(sh: SentinelHub, eo_emulator: Emulator) -> None:
    source = await sh.byoc.create_collection(band_update("source", **BANDS))
    for path in ("a", "b", "c-fail"):
        await sh.byoc.create_tile(source.id, {"path": path})
    await ingested(eo_emulator)
    await sh.byoc.create_tile(source.id, {"path": "d-still-waiting"})

    other = await sh.byoc.create_collection(band_update("float", X={"bitDepth": 32, "sampleFormat": "FLOAT"}))
    with pytest.raises(BadRequestError, match="same band names and types"):
        await sh.byoc.copy_tiles(source.id, other.id)
    assert await sh.byoc.tiles(other.id).collect() == []

    empty = await sh.byoc.create_collection({"name": "no bands", "s3Bucket": "bucket"})
    await sh.byoc.copy_tiles(source.id, empty.id)
    copied = await sh.byoc.tiles(empty.id).collect()
    assert sorted(t.path for t in copied) == ["a", "b"]  # only INGESTED tiles
    assert all(t.status == "INGESTED" for t in copied)
    assert (await sh.byoc.collection(empty.id)).bands.keys() == {"B1", "B2"}

    same = await sh.byoc.create_collection(band_update("same", **BANDS))
    await sh.byoc.create_tile(same.id, {"path": "a"})
    await sh.byoc.copy_tiles(source.id, same.id)
    assert sorted(t.path for t in await sh.byoc.tiles(same.id).collect()) == ["a", "b"]  # "a" was there

    with pytest.raises(NotFoundError):
        await sh.byoc.copy_tiles(source.id, "00000000-0000-4000-8000-000000000000")
    copy_requests = [r for r in eo_emulator.requests if r.path.endswith("/copyTiles")]
    assert all(r.method == "POST" and "toCollection=" in r.query for r in copy_requests)


# -- validation: refused before anything is sent --------------------------------------------

GOOD_ID = "3c3b5d6e-1f0a-4b8e-9a4e-2b1d0c9e8f7a"

Call = Callable[[SentinelHub], Awaitable[Any]]


async def _collect(paginator: Any) -> Any:
    return await paginator.collect()


INVALID: list[tuple[str, Call, str]] = [
    ("no name", lambda sh: sh.byoc.create_collection({"s3Bucket": "b"}), "collection.name"),
    ("no bucket", lambda sh: sh.byoc.create_collection({"name": "n"}), "collection.s3Bucket"),
    ("empty name", lambda sh: sh.byoc.create_collection({"name": " ", "s3Bucket": "b"}), "collection.name"),
    ("not a dict", lambda sh: sh.byoc.create_collection(["name"]), "collection"),
    (
        "bit depth",
        lambda sh: sh.byoc.create_collection(band_update(B1={"bitDepth": 12, "sampleFormat": "UINT"})),
        "collection.additionalData.bands.B1.bitDepth",
    ),
    (
        "sample format",
        lambda sh: sh.byoc.create_collection(band_update(B1={"bitDepth": 8, "sampleFormat": "BYTE"})),
        "collection.additionalData.bands.B1.sampleFormat",
    ),
    (
        "band index",
        lambda sh: sh.byoc.create_collection(
            band_update(B1={"bitDepth": 8, "sampleFormat": "INT", "bandIndex": 0})
        ),
        "collection.additionalData.bands.B1.bandIndex",
    ),
    (
        "noData twice",
        lambda sh: sh.byoc.update_collection(
            GOOD_ID, {**band_update(B1={"bitDepth": 8, "sampleFormat": "UINT", "noData": 0}), "noData": 1}
        ),
        "collection.additionalData.bands.B1.noData",
    ),
    (
        "101 bands",
        lambda sh: sh.byoc.create_collection(
            band_update(**{f"B{i}": {"bitDepth": 8, "sampleFormat": "UINT"} for i in range(101)})
        ),
        "collection.additionalData.bands",
    ),
    (
        "update without bucket",
        lambda sh: sh.byoc.update_collection(GOOD_ID, {"name": "n"}),
        "collection.s3Bucket",
    ),
    ("bad collection id", lambda sh: sh.byoc.collection("not-a-uuid"), "collection_id"),
    ("id not a string", lambda sh: sh.byoc.delete_collection(42), "collection_id"),
    ("bad tile id", lambda sh: sh.byoc.tile(GOOD_ID, "tile-1"), "tile_id"),
    ("copy to itself", lambda sh: sh.byoc.copy_tiles(GOOD_ID, f"byoc-{GOOD_ID}"), "to_id"),
    ("copy bad target", lambda sh: sh.byoc.copy_tiles(GOOD_ID, "x"), "to_id"),
    ("count 0", lambda sh: _collect(sh.byoc.collections(count=0)), "count"),
    ("negative count", lambda sh: _collect(sh.byoc.tiles(GOOD_ID, count=-5)), "count"),
    ("count 101", lambda sh: _collect(sh.byoc.collections(count=101)), "count"),
    ("negative max_items", lambda sh: _collect(sh.byoc.collections(max_items=-1)), "max_items"),
    ("search not text", lambda sh: _collect(sh.byoc.collections(search=3)), "search"),
    ("bad sort", lambda sh: _collect(sh.byoc.tiles(GOOD_ID, sort="name")), "sort"),
    ("bad status", lambda sh: _collect(sh.byoc.tiles(GOOD_ID, status="DONE")), "status"),
    ("tile without path", lambda sh: sh.byoc.create_tile(GOOD_ID, {"sensingTime": None}), "tile.path"),
    ("leading slash", lambda sh: sh.byoc.create_tile(GOOD_ID, {"path": "/abs/x"}), "tile.path"),
    ("double slash", lambda sh: sh.byoc.create_tile(GOOD_ID, {"path": "a//b"}), "tile.path"),
    (
        "point cover",
        lambda sh: sh.byoc.create_tile(
            GOOD_ID, {"path": "p", "coverGeometry": {"type": "Point", "coordinates": [1, 2]}}
        ),
        "tile.coverGeometry",
    ),
    (
        "bad sensing time",
        lambda sh: sh.byoc.create_tile(GOOD_ID, {"path": "p", "sensingTime": "yesterday"}),
        "tile.sensingTime",
    ),
    ("empty tile update", lambda sh: sh.byoc.update_tile(GOOD_ID, GOOD_ID, {}), "tile"),
    ("read-only tile field", lambda sh: sh.byoc.update_tile(GOOD_ID, GOOD_ID, {"path": "x"}), "tile.path"),
    ("file list bad id", lambda sh: _collect(sh.byoc.tile_files("nope", GOOD_ID)), "collection_id"),
    ("empty file path", lambda sh: sh.byoc.tile_file_size(GOOD_ID, GOOD_ID, ""), "path"),
    (
        "download resumes",
        lambda sh: sh.byoc.download_tile_file(GOOD_ID, GOOD_ID, "f", "out", max_resumes=-1),
        "max_resumes",
    ),
]


@pytest.mark.parametrize(("case", "call", "field"), INVALID, ids=[c[0] for c in INVALID])
async def test_invalid_input_is_refused_before_sending(
    sh: SentinelHub, eo_emulator: Emulator, case: str, call: Call, field: str
) -> None:
    before = len(eo_emulator.requests)
    with pytest.raises(ValidationError) as err:
        await call(sh)
    assert err.value.field == field, (case, err.value)
    assert len(eo_emulator.requests) == before  # not even a token request


# -- files of Planet tiles -----------------------------------------------------------------


@pytest.fixture
async def planet_tile(sh: SentinelHub) -> tuple[str, str, str, list[str]]:
    coll = await sh.byoc.create_collection({"name": "planet order", "s3Bucket": PLANET_BUCKET})
    path = "2024/12/20241230_100706_56_24fd"
    tile = await sh.byoc.create_tile(coll.id, {"path": path, "sensingTime": "2024-12-30T10:07:06Z"})
    assert coll.id and tile.id
    files = await sh.byoc.tile_files(coll.id, tile.id).collect()
    return coll.id, tile.id, path, files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def image(files: list[str]) -> str:
    return next(f for f in files if f.endswith("_analytic_4b_sr.tif"))


def file_url(cid: str, tid: str, name: str) -> str:
    return f"/api/v1/byoc/collections/{cid}/tiles/{tid}/files/{name}"


async def test_tile_files_and_sizes(sh: SentinelHub, planet_tile: Any, tmp_path: Path) -> None:
    cid, tid, _, files = planet_tile
    stem = "20241230_100706_56_24fd"
    assert files == [
        f"{stem}.json",
        f"{stem}_metadata.json",
        f"{stem}_ortho_analytic_4b_sr.tif",
        f"{stem}_ortho_udm2.tif",
    ]
    size = await sh.byoc.tile_file_size(cid, tid, image(files))
    assert 1 << 20 <= size < 3 << 20  # 360..519 px square, 4 bands of UINT16
    meta = await sh.byoc.download_tile_file(cid, tid, f"{stem}_metadata.json", tmp_path / "meta.json")
    assert meta.size == (tmp_path / "meta.json").stat().st_size and meta.resumes == 0
    assert b"PSScene" in (tmp_path / "meta.json").read_bytes()

    with pytest.raises(NotFoundError):
        await sh.byoc.tile_file_size(cid, tid, "missing.tif")
    ordinary = await sh.byoc.create_collection({"name": "mine", "s3Bucket": "my-bucket"})
    mine = await sh.byoc.create_tile(ordinary.id, {"path": "x"})
    with pytest.raises(NotFoundError, match="Planet"):
        await sh.byoc.tile_files(ordinary.id, mine.id).collect()


async def test_download_resumes_after_a_dropped_connection(
    sh: SentinelHub, eo_emulator: Emulator, planet_tile: Any, tmp_path: Path
) -> None:
    cid, tid, tile_path, files = planet_tile
    name = image(files)
    url = file_url(cid, tid, name)
    eo_emulator.faults.inject("drop", path_prefix=url, method="GET")
    dest = tmp_path / "resumed.tif"

    got = await sh.byoc.download_tile_file(cid, tid, name, dest)

    assert got.path == dest and got.resumes == 1
    assert got.size == dest.stat().st_size == await sh.byoc.tile_file_size(cid, tid, name)
    assert not (tmp_path / "resumed.tif.part").exists()
    gets = [r for r in eo_emulator.requests if r.path == url and r.method == "GET"]
    assert [(r.status, r.fault) for r in gets] == [(200, "drop"), (206, None)]
    ranges = byoc_store(eo_emulator.state).range_requests
    assert len(ranges) == 1 and ranges[0][0] == url
    assert ranges[0][1] == f"bytes={got.size // 2}-"  # the drop cut the body in half

    clean = await sh.byoc.download_tile_file(cid, tid, name, tmp_path / "clean.tif")
    assert clean.resumes == 0
    assert sha256(dest) == sha256(tmp_path / "clean.tif")
    expected = hashlib.sha256(file_bytes(tid, tile_path, name)).hexdigest()
    assert sha256(dest) == expected
    assert listing(tmp_path) == ["clean.tif", "resumed.tif"]


async def test_download_gives_up_after_max_resumes_and_continues_later(
    sh: SentinelHub, eo_emulator: Emulator, planet_tile: Any, tmp_path: Path
) -> None:
    cid, tid, tile_path, files = planet_tile
    name = image(files)
    eo_emulator.faults.inject("drop", path_prefix=file_url(cid, tid, name), method="GET", count=3)
    dest = tmp_path / "img.tif"
    with pytest.raises(TransportError):
        await sh.byoc.download_tile_file(cid, tid, name, dest, max_resumes=1)
    assert not dest.exists()
    part = tmp_path / "img.tif.part"
    assert part.stat().st_size > 0  # kept for the next call

    got = await sh.byoc.download_tile_file(cid, tid, name, dest)
    assert got.resumes == 1  # the third drop, then done
    assert not part.exists()
    assert sha256(dest) == hashlib.sha256(file_bytes(tid, tile_path, name)).hexdigest()


async def test_server_ignoring_range_restarts_from_zero(
    sh: SentinelHub, eo_emulator: Emulator, planet_tile: Any, tmp_path: Path
) -> None:
    cid, tid, tile_path, files = planet_tile
    name = image(files)
    dest = tmp_path / "img.tif"
    (tmp_path / "img.tif.part").write_bytes(b"garbage from an earlier attempt")
    byoc_store(eo_emulator.state).ignore_range.add(name)

    got = await sh.byoc.download_tile_file(cid, tid, name, dest)

    statuses = [
        r.status for r in eo_emulator.requests if r.path == file_url(cid, tid, name) and r.method == "GET"
    ]
    assert statuses == [200]  # asked for a range, got (and used) the whole file
    assert sha256(dest) == hashlib.sha256(file_bytes(tid, tile_path, name)).hexdigest()
    assert got.size == dest.stat().st_size


async def test_oversized_part_is_discarded(sh: SentinelHub, planet_tile: Any, tmp_path: Path) -> None:
    cid, tid, tile_path, files = planet_tile
    name = next(f for f in files if f.endswith("_udm2.tif"))
    size = await sh.byoc.tile_file_size(cid, tid, name)
    (tmp_path / "udm.tif.part").write_bytes(b"\0" * (size + 10))  # 416: cannot continue there
    got = await sh.byoc.download_tile_file(cid, tid, name, tmp_path / "udm.tif")
    assert got.resumes == 1 and got.size == size
    assert (tmp_path / "udm.tif").read_bytes() == file_bytes(tid, tile_path, name)


async def test_complete_part_is_committed(sh: SentinelHub, planet_tile: Any, tmp_path: Path) -> None:
    cid, tid, tile_path, files = planet_tile
    name = next(f for f in files if f.endswith(".json"))
    (tmp_path / "f.json.part").write_bytes(file_bytes(tid, tile_path, name))
    got = await sh.byoc.download_tile_file(cid, tid, name, tmp_path / "f.json")
    assert got.resumes == 0 and (tmp_path / "f.json").read_bytes() == file_bytes(tid, tile_path, name)


async def test_size_mismatch_leaves_no_file(
    sh: SentinelHub, eo_emulator: Emulator, planet_tile: Any, tmp_path: Path
) -> None:
    cid, tid, _, files = planet_tile
    name = next(f for f in files if f.endswith("_udm2.tif"))
    byoc_store(eo_emulator.state).head_size_skew[name] = 17
    with pytest.raises(DownloadSizeError) as err:
        await sh.byoc.download_tile_file(cid, tid, name, tmp_path / "udm.tif")
    assert err.value.expected == err.value.actual + 17
    assert listing(tmp_path) == []  # neither the file nor its .part


async def test_planet_files_are_georeferenced_imagery(sh: SentinelHub, tmp_path: Path) -> None:
    # A tile with a cover geometry: its files are GeoTIFFs over that box, reflectance and a 0/1 mask.
    coll = await sh.byoc.create_collection({"name": "planet order", "s3Bucket": PLANET_BUCKET})
    cover = {
        "type": "Polygon",
        "coordinates": [[[14.0, 46.0], [14.1, 46.0], [14.1, 46.1], [14.0, 46.1], [14.0, 46.0]]],
    }
    tile = await sh.byoc.create_tile(coll.id, {"path": "2024/12/20241230_1_ab", "coverGeometry": cover})
    names = await sh.byoc.tile_files(coll.id, tile.id).collect()
    analytic = await sh.byoc.download_tile_file(coll.id, tile.id, image(names), tmp_path / "sr.tif")
    udm = next(n for n in names if n.endswith("_udm2.tif"))
    mask = await sh.byoc.download_tile_file(coll.id, tile.id, udm, tmp_path / "udm2.tif")
    sr = analytic.to_xarray()
    assert sr.sizes["band"] == 4 and str(sr.dtype) == "uint16"
    assert int(sr.min()) > 0 and int(sr.max()) <= 10000 and float(sr.std()) > 0
    need("rioxarray")
    assert sr.rio.crs.to_epsg() == 4326
    step = float(sr.x[1] - sr.x[0])
    assert abs(float(sr.x[0]) - step / 2 - 14.0) < 1e-9 and abs(float(sr.y[0]) + step / 2 - 46.1) < 1e-9
    flags = mask.to_numpy()
    assert flags.shape[2] == 8 and set(flags.ravel().tolist()) <= {0, 1}

"""Bulk uploads against a real S3 server (moto): a directory under a prefix, a report, reruns that skip."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from eoclient.errors import ObjectExistsError, ValidationError
from eoclient.storage import BulkUploadError, ObjectStore, Upload, Uploaded, UploadFailure, open_store
from tests.storage.conftest import settings_for
from tests.storage.proxy import S3Proxy

pytestmark = pytest.mark.integration


def tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.tif": b"A" * 1000,
        "sub/b.tif": b"B" * 2000,
        "sub/deeper/c.json": b'{"c": 3}',
    }
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(body)
    (root / "sub" / "d.tif.part").write_bytes(b"a download still being written")
    return files


async def test_a_directory_goes_up_under_a_prefix_and_a_rerun_sends_nothing(
    s3: Any, bucket: str, proxy: S3Proxy, tmp_path: Path
) -> None:
    files = tree(tmp_path / "renders")
    store = open_store(f"s3://{bucket}/runs/", settings_for(s3, proxy.url))

    report = await store.upload_prefix(tmp_path / "renders", "r1/", concurrency=2)

    assert report.ok and len(report.uploaded) == 3 and report.skipped == []
    assert report.bytes == sum(len(b) for b in files.values())
    assert sorted(f.key for f in report.files) == sorted(f"r1/{k}" for k in files)
    listed = s3.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"runs/r1/{k}" for k in files)  # no .part
    for rel, body in files.items():
        assert await store.read(f"r1/{rel}") == body
    first = next(f for f in report.files if f.key == "r1/a.tif")
    assert first.path == tmp_path / "renders" / "a.tif" and first.object is not None

    sent = len([s for s in proxy.seen if s.method == "PUT"])
    again = await store.upload_prefix(tmp_path / "renders", "r1/")
    assert again.ok and len(again.skipped) == 3 and again.uploaded == [] and again.bytes == 0
    assert len([s for s in proxy.seen if s.method == "PUT"]) == sent  # HEADs only

    (tmp_path / "renders" / "sub" / "b.tif").write_bytes(b"b" * 2000)  # changed: refused, others skipped
    (tmp_path / "renders" / "e.tif").write_bytes(b"E")  # new: sent
    third = await store.upload_prefix(tmp_path / "renders", "r1/")
    assert [f.key for f in third.uploaded] == ["r1/e.tif"] and len(third.skipped) == 2
    assert [f.item.key for f in third.failures] == ["r1/sub/b.tif"]
    assert isinstance(third.failures[0].error, ObjectExistsError)
    with pytest.raises(BulkUploadError, match="1 of 4 uploads failed"):
        third.raise_for_failures()
    assert await store.read("r1/sub/b.tif") == b"B" * 2000


async def test_upload_each_yields_each_outcome(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"a")
    items = [
        (tmp_path / "a.bin", "x/a.bin"),
        Upload(tmp_path / "a.bin", "x/a.txt", content_type="text/plain"),
        (str(tmp_path / "missing.bin"), "x/missing.bin"),
        (tmp_path / "a.bin", "x/../escape"),
    ]
    async with aclosing(store.upload_each(items, concurrency=2)) as outcomes:
        got = [o async for o in outcomes]

    done = sorted(o.key for o in got if isinstance(o, Uploaded))
    failed = {o.item.key: o.error for o in got if isinstance(o, UploadFailure)}
    assert done == ["x/a.bin", "x/a.txt"]
    assert isinstance(failed["x/missing.bin"], ValidationError) and failed["x/missing.bin"].field == "src"
    assert isinstance(failed["x/../escape"], ValidationError) and failed["x/../escape"].field == "key"

    with pytest.raises(ValidationError, match="items"):
        async with aclosing(store.upload_each([("only-one",)])) as outcomes:
            [o async for o in outcomes]


async def test_upload_prefix_checks_its_input(proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"x")
    for local_dir in [tmp_path / "missing", tmp_path / "f.txt", ""]:
        with pytest.raises(ValidationError) as info:
            await proxied.upload_prefix(local_dir, "p/")
        assert info.value.field == "local_dir"
    for prefix in ["/p/", "p//", "../p/", 3]:
        with pytest.raises(ValidationError) as info:
            await proxied.upload_prefix(tmp_path, prefix)  # type: ignore[arg-type]
        assert info.value.field == "prefix"
    with pytest.raises(ValidationError) as info:
        await proxied.upload_prefix(tmp_path, "p/", concurrency=0)
    assert info.value.field == "concurrency"
    assert proxy.seen == []

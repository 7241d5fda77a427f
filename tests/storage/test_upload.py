"""Uploads against a real S3 server (moto): atomic, create-only unless told, skipped on rerun, aborted."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from eoclient.errors import ObjectExistsError, StorageAccessError, ValidationError
from eoclient.storage import ObjectStore, StoredObject, _upload
from tests.storage.proxy import S3Proxy

pytestmark = pytest.mark.integration

MIB = 1 << 20
BODY = hashlib.sha256(b"eoclient-upload").digest() * 4096  # 128 KiB


def pending_uploads(s3: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def write(path: Path, size: int) -> Path:
    block = hashlib.sha256(str(size).encode()).digest() * (MIB // 32)
    with path.open("wb") as fh:
        for i in range(size // MIB):
            fh.write(block[i % 7 :] + block[: i % 7])  # parts differ: a wrong part order shows
        fh.write(block[: size % MIB])
    return path


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of S3's minimum, 5 MiB: multipart uploads of a few parts stay small for moto."""
    monkeypatch.setattr(_upload, "PART_SIZE", 5 * MIB)


async def test_upload_appears_whole_with_its_type(
    s3: Any, bucket: str, store: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)

    got = await store.upload(src, "out/a.tif")

    assert isinstance(got, StoredObject) and got.key == "out/a.tif" and got.size == len(BODY)
    assert got.checksum == hashlib.md5(BODY).hexdigest()
    head = s3.client().head_object(Bucket=bucket, Key="out/a.tif")
    assert head["ContentType"] == "image/tiff"
    assert await store.read("out/a.tif") == BODY
    again = await store.upload(str(src), "out/b.bin", content_type="application/x-eoclient")
    assert s3.client().head_object(Bucket=bucket, Key="out/b.bin")["ContentType"] == "application/x-eoclient"
    assert again.checksum == got.checksum
    # Every upload carries its content's MD5 as metadata: a rerun reads it where the ETag is no MD5.
    assert head["Metadata"] == {"eoclient-md5": hashlib.md5(BODY).hexdigest()}


async def test_existing_objects_are_kept_unless_overwrite_and_reruns_send_nothing(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)
    first = await proxied.upload(src, "a.tif")
    assert len(proxy.puts("a.tif")) == 1
    assert proxy.puts("a.tif")[0].headers.get("If-None-Match") == "*"  # a create: never overwrites

    rerun = await proxied.upload(src, "a.tif")
    assert rerun == first and len(proxy.puts("a.tif")) == 1  # same content: skipped, nothing sent

    src.write_bytes(bytes(reversed(BODY)))  # same size, other bytes
    with pytest.raises(ObjectExistsError) as info:
        await proxied.upload(src, "a.tif")
    assert info.value.key == "a.tif" and info.value.bucket == bucket
    assert f"s3://{bucket}/a.tif" in str(info.value) and s3.secret_key not in str(info.value)
    assert await proxied.read("a.tif") == BODY

    replaced = await proxied.upload(src, "a.tif", overwrite=True)
    assert replaced.checksum == hashlib.md5(bytes(reversed(BODY))).hexdigest()
    assert await proxied.read("a.tif") == bytes(reversed(BODY))


async def test_an_object_created_meanwhile_is_not_overwritten(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    # Another writer's object, which the first HEAD does not see: the create (If-None-Match) refuses.
    s3.client().put_object(Bucket=bucket, Key="a.tif", Body=b"the other writer")
    proxy.hide_once.add("a.tif")
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)
    with pytest.raises(ObjectExistsError):
        await proxied.upload(src, "a.tif")
    assert await proxied.read("a.tif") == b"the other writer"

    # The same content created meanwhile (e.g. our own PUT, retried after its answer was lost) is ours.
    s3.client().put_object(Bucket=bucket, Key="b.tif", Body=BODY)
    proxy.hide_once.add("b.tif")
    got = await proxied.upload(src, "b.tif")
    assert got.size == len(BODY) and len(proxy.puts("b.tif")) == 1


async def test_transient_errors_are_retried_and_a_lost_answer_is_recognised(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path, small_parts: None
) -> None:
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)
    proxy.put_slowdowns = 2
    got = await proxied.upload(src, "a.tif")
    assert got.size == len(BODY) and len(proxy.puts("a.tif")) == 3  # two 503 SlowDown, then stored

    # Stored, but the answer is lost: the retried create finds it (412), sees it is this file, returns it.
    proxy.lose_put_answers = 1
    again = await proxied.upload(src, "b.tif")
    assert again.checksum == got.checksum and len(proxy.puts("b.tif")) == 2

    big = write(tmp_path / "big.tif", 11 * MIB)
    proxy.put_slowdowns = 1  # the first part
    parts = await proxied.upload(big, "big.tif")
    assert parts.size == 11 * MIB and len(proxy.parts()) == 4  # 3 parts, one of them twice
    assert await proxied.read("big.tif") == big.read_bytes()


async def test_a_store_that_refuses_head(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path, small_parts: None
) -> None:
    # Keys without s3:ListBucket get 403 for the HEAD of a missing key; write-only keys for every HEAD.
    proxy.refuse_heads = True
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)
    got = await proxied.upload(src, "a.tif")  # the create guards the key
    assert got.size == len(BODY) and got.checksum == hashlib.md5(BODY).hexdigest()
    assert s3.client().get_object(Bucket=bucket, Key="a.tif")["Body"].read() == BODY
    with pytest.raises(ObjectExistsError):  # cannot tell whether it is the same: refused, never replaced
        await proxied.upload(src, "a.tif")

    big = write(tmp_path / "big.tif", 11 * MIB)
    with pytest.raises(StorageAccessError, match="overwrite=True"):  # nothing would guard the parts
        await proxied.upload(big, "big.tif")
    assert proxy.parts() == []
    assert (await proxied.upload(big, "big.tif", overwrite=True)).size == 11 * MIB


async def test_an_empty_file_is_an_empty_object(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    got = await store.upload(tmp_path / "empty", "empty")
    assert got.size == 0 and await store.read("empty") == b""
    assert await store.upload(tmp_path / "empty", "empty") == got


async def test_put_small_payloads_with_the_same_rules(s3: Any, bucket: str, store: ObjectStore) -> None:
    got = await store.put("meta/info.json", b'{"a": 1}')
    assert got.size == 8 and await store.read("meta/info.json") == b'{"a": 1}'
    assert s3.client().head_object(Bucket=bucket, Key="meta/info.json")["ContentType"] == "application/json"
    assert await store.put("meta/info.json", bytearray(b'{"a": 1}')) == got
    with pytest.raises(ObjectExistsError):
        await store.put("meta/info.json", b'{"a": 2}')
    await store.put("meta/info.json", memoryview(b'{"a": 2}'), overwrite=True)
    assert await store.read("meta/info.json") == b'{"a": 2}'


@pytest.mark.usefixtures("small_parts")
async def test_a_large_file_goes_up_in_parts_and_a_rerun_skips_it(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    src = write(tmp_path / "big.tif", 12 * MIB + 123)

    got = await proxied.upload(src, "big.tif")

    assert got.size == src.stat().st_size and got.etag is not None and got.etag.strip('"').endswith("-3")
    assert got.checksum is None  # a multipart ETag is no MD5 of the content
    assert len(proxy.parts()) == 3 and not proxy.aborts()
    assert await proxied.read("big.tif") == src.read_bytes()
    assert pending_uploads(s3, bucket) == []

    seen = len(proxy.seen)
    assert await proxied.upload(src, "big.tif") == got  # the multipart ETag is recomputed from the file
    assert len(proxy.seen) == seen + 1  # one HEAD
    with src.open("r+b") as fh:
        fh.seek(6 * MIB)
        fh.write(b"changed")
    with pytest.raises(ObjectExistsError):
        await proxied.upload(src, "big.tif")


@pytest.mark.usefixtures("small_parts")
async def test_a_failed_multipart_upload_leaves_no_object_and_no_parts(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    src = write(tmp_path / "big.tif", 16 * MIB)
    proxy.refuse_part = 2

    with pytest.raises(StorageAccessError) as info:
        await proxied.upload(src, "out/big.tif")

    assert info.value.key == "out/big.tif" and s3.secret_key not in str(info.value)
    assert [o async for o in proxied.list()] == []
    assert pending_uploads(s3, bucket) == [] and len(proxy.aborts()) >= 1  # retried after a moto 500 at times


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize("how", ["task.cancel", "cancel scope"])
async def test_a_cancelled_upload_aborts_its_parts(
    s3: Any,
    bucket: str,
    proxy: S3Proxy,
    proxied: ObjectStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    src = write(tmp_path / "big.tif", 40 * MIB)  # 8 parts: more than are ever in flight
    opened: list[_upload.StoppableFile] = []

    class ReleaseOnStop(threading.Event):
        def set(self) -> None:
            super().set()
            proxy.release.set()  # the held parts finish; obstore's next read fails: it aborts the upload

    class Recorded(_upload.StoppableFile):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self.stop = ReleaseOnStop()
            opened.append(self)

    monkeypatch.setattr(_upload, "StoppableFile", Recorded)
    proxy.hold_parts_from = 2
    if how == "task.cancel":
        task = asyncio.ensure_future(proxied.upload(src, "big.tif"))
        await proxy.stalled.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        async with anyio.create_task_group() as tg:
            tg.start_soon(proxied.upload, src, "big.tif")
            await proxy.stalled.wait()
            tg.cancel_scope.cancel()

    assert [o async for o in proxied.list()] == []
    # Aborted (more than one DELETE when moto's threaded server answers the first with a 500 and
    # obstore retries it): no parts are left.
    assert pending_uploads(s3, bucket) == [] and len(proxy.aborts()) >= 1
    assert opened[0].closed


async def test_a_cancelled_single_put_ends_at_once(
    s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    # One PUT is all or nothing on S3's side: the cancel drops it, without waiting for its answer.
    src = tmp_path / "a.tif"
    src.write_bytes(BODY)
    proxy.hold_puts = True
    async with anyio.create_task_group() as tg:
        tg.start_soon(proxied.upload, src, "a.tif")
        await proxy.stalled.wait()
        tg.cancel_scope.cancel()
    assert not proxy.release.is_set()  # the PUT is still held: the upload did not wait for it
    assert s3.client().list_objects_v2(Bucket=bucket).get("Contents") is None


async def test_bad_input_is_refused_before_anything_is_sent(
    proxy: S3Proxy, proxied: ObjectStore, tmp_path: Path
) -> None:
    src = tmp_path / "a.tif"
    src.write_bytes(b"x")
    for key in ["", "a/../b", "../a", "/a", "a/", "a//b", "./a", "a\nb", 7]:
        with pytest.raises(ValidationError) as info:
            await proxied.upload(src, key)  # type: ignore[arg-type]
        assert info.value.field == "key"
    for bad_src in [tmp_path / "missing", tmp_path, ""]:
        with pytest.raises(ValidationError) as info:
            await proxied.upload(bad_src, "a.tif")
        assert info.value.field == "src"
    with pytest.raises(ValidationError) as info:
        await proxied.upload(src, "a.tif", content_type="not a type")
    assert info.value.field == "content_type"
    with pytest.raises(ValidationError) as info:
        await proxied.upload(src, "a.tif", overwrite="yes")  # type: ignore[arg-type]
    assert info.value.field == "overwrite"
    with pytest.raises(ValidationError) as info:
        await proxied.put("a.tif", "text")  # type: ignore[arg-type]
    assert info.value.field == "data"
    with pytest.raises(ValidationError) as info:
        await proxied.put("a/../b", b"x")
    assert info.value.field == "key"
    assert proxy.seen == []

"""ObjectStore against a real S3 server (moto): listing pages, head, read, Range, typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from eoclient.errors import ObjectNotFoundError, StorageAccessError, StorageError
from eoclient.storage import ObjectStore, StoredObject, open_store
from tests.storage.conftest import settings_for
from tests.storage.proxy import S3Proxy

pytestmark = pytest.mark.integration


def put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.client().put_object(Bucket=bucket, Key=key, Body=body)


async def test_list_follows_pages(s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore) -> None:
    client = s3.client()
    for i in range(23):
        client.put_object(Bucket=bucket, Key=f"out/{i:03d}.tif", Body=b"x" * i)
    put(s3, bucket, "other/skip.tif", b"no")
    proxy.max_keys = 5  # the store pages every 5 keys

    found = [obj async for obj in proxied.list("out/")]

    assert [o.key for o in found] == [f"out/{i:03d}.tif" for i in range(23)]
    assert [o.size for o in found] == list(range(23))
    assert all(isinstance(o.last_modified.year, int) and o.etag for o in found)
    assert len(proxy.listings()) == 5  # 23 keys, 5 a page
    assert proxy.listings()[1].query.get("continuation-token")


async def test_head_read_and_open_with_range(s3: Any, bucket: str, store: ObjectStore) -> None:
    body = bytes(range(256)) * 40
    put(s3, bucket, "a/b.bin", body)

    head = await store.head("a/b.bin")
    assert isinstance(head, StoredObject) and head.size == len(body) and head.key == "a/b.bin"
    assert head.checksum is not None and head.etag is not None and head.checksum in head.etag
    assert await store.read("a/b.bin") == body
    async with store.open("a/b.bin", start=1000) as chunks:
        got = b"".join([bytes(c) async for c in chunks])
    assert got == body[1000:]
    assert store.url("a/b.bin") == f"s3://{bucket}/a/b.bin"


async def test_a_store_on_a_prefix_sees_keys_relative_to_it(s3: Any, bucket: str) -> None:
    put(s3, bucket, "batch/req-1/tile-1/B04.tif", b"1234")
    store = open_store(f"s3://{bucket}/batch/req-1/", settings_for(s3))
    assert [o.key async for o in store.list()] == ["tile-1/B04.tif"]
    assert await store.read("tile-1/B04.tif") == b"1234"
    assert store.url("tile-1/B04.tif") == f"s3://{bucket}/batch/req-1/tile-1/B04.tif"


async def test_a_prefix_may_end_inside_a_name(s3: Any, bucket: str, store: ObjectStore) -> None:
    # S3 prefixes are plain text; obstore lists whole path segments, so eoclient filters a folder.
    for key in ("out/tile-1/a.tif", "out/tile-10/a.tif", "out/tile-2/a.tif", "out/tile-1.tif", "outside.tif"):
        put(s3, bucket, key, b"x")
    assert [o.key async for o in store.list("out/tile-1")] == [
        "out/tile-1.tif",
        "out/tile-1/a.tif",
        "out/tile-10/a.tif",
    ]
    assert [o.key async for o in store.list("out")] == [
        "out/tile-1.tif",
        "out/tile-1/a.tif",
        "out/tile-10/a.tif",
        "out/tile-2/a.tif",
        "outside.tif",  # as S3 means it: a prefix is text, not a folder
    ]


async def test_not_found_is_typed_with_bucket_and_key(s3: Any, bucket: str, store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        await store.read("missing.tif")
    assert info.value.bucket == bucket and info.value.key == "missing.tif"
    assert info.value.code == "NoSuchKey" and info.value.status == 404
    with pytest.raises(ObjectNotFoundError):
        await store.head("missing.tif")

    nobucket = open_store("s3://no-such-bucket-here", settings_for(s3))
    with pytest.raises(ObjectNotFoundError) as info:
        [o async for o in nobucket.list()]
    assert info.value.code == "NoSuchBucket"
    assert s3.secret_key not in str(info.value)


async def test_access_denied_is_typed(s3: Any, bucket: str, proxy: S3Proxy, proxied: ObjectStore) -> None:
    put(s3, bucket, "secret.tif", b"x")
    proxy.deny.add("secret.tif")
    with pytest.raises(StorageAccessError) as info:
        await proxied.read("secret.tif")
    assert info.value.status == 403 and info.value.code == "AccessDenied"
    assert isinstance(info.value, StorageError) and s3.secret_key not in str(info.value)


def test_stores_are_released_before_the_interpreter_tears_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """obstore's runtime outlives finalization: stores are dropped by an atexit hook, not mid-teardown."""
    import atexit

    from eoclient.storage import _backend

    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(_backend, "_hooked", False)

    class Owner:
        _store: object = "an obstore store"

    first, second = Owner(), Owner()
    _backend.release_at_exit(first)
    _backend.release_at_exit(second)
    assert registered == [_backend._release]  # one hook per process
    _backend._release()
    assert first._store is None and second._store is None

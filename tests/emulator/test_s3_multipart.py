"""The emulator's S3 multipart uploads, with boto3 and with eoclient's own ``ObjectStore.upload``."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client
from eoclient.errors import ObjectExistsError
from eoclient.storage import Uploaded
from tests.emulator.test_s3_api import signed
from tests.s3server import emulator_s3_client as boto

MIB = 1024 * 1024


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as running:
        running.objects.create_bucket("b")
        yield running


async def call(client: Any, operation: str, **kwargs: Any) -> Any:
    return await asyncio.to_thread(getattr(client, operation), **kwargs)


async def refused(client: Any, operation: str, **kwargs: Any) -> tuple[int, str]:
    """The HTTP status and S3 error code the call is refused with."""
    with pytest.raises(ClientError) as caught:
        await call(client, operation, **kwargs)
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


async def pending(client: Any, bucket: str = "b") -> list[str]:
    answer = await call(client, "list_multipart_uploads", Bucket=bucket)
    return [u["UploadId"] for u in answer.get("Uploads", [])]


async def test_create_upload_complete(emu: Emulator) -> None:
    client = boto(emu)
    started = await call(
        client, "create_multipart_upload", Bucket="b", Key="big/x.bin", ContentType="image/tiff"
    )
    uid = started["UploadId"]
    assert started["Bucket"] == "b" and started["Key"] == "big/x.bin" and uid
    assert await pending(client) == [uid]
    first, second = b"a" * (5 * MIB), b"tail bytes"
    sent = []
    for number, data in ((1, first), (2, second)):
        answer = await call(
            client, "upload_part", Bucket="b", Key="big/x.bin", UploadId=uid, PartNumber=number, Body=data
        )
        assert answer["ETag"] == f'"{md5(data).hex()}"'
        sent.append({"PartNumber": number, "ETag": answer["ETag"]})
    assert emu.objects.get("b", "big/x.bin") is None  # nothing appears before the complete
    done = await call(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="big/x.bin",
        UploadId=uid,
        MultipartUpload={"Parts": sent},
    )
    expected = f'"{hashlib.md5(md5(first) + md5(second), usedforsecurity=False).hexdigest()}-2"'
    assert done["ETag"] == expected and done["Bucket"] == "b" and done["Key"] == "big/x.bin"
    assert done["Location"] == f"{emu.s3_url}/b/big/x.bin"
    head = await call(client, "head_object", Bucket="b", Key="big/x.bin")
    assert head["ETag"] == expected and head["ContentLength"] == len(first) + len(second)
    assert head["ContentType"] == "image/tiff"
    body = await call(client, "get_object", Bucket="b", Key="big/x.bin")
    assert await asyncio.to_thread(body["Body"].read) == first + second
    assert await pending(client) == []
    assert await refused(
        client, "upload_part", Bucket="b", Key="big/x.bin", UploadId=uid, PartNumber=3, Body=b"late"
    ) == (404, "NoSuchUpload")


async def test_abort_forgets_the_parts(emu: Emulator) -> None:
    client = boto(emu)
    uid = (await call(client, "create_multipart_upload", Bucket="b", Key="k"))["UploadId"]
    part = await call(client, "upload_part", Bucket="b", Key="k", UploadId=uid, PartNumber=1, Body=b"abcdef")
    answer = await call(client, "abort_multipart_upload", Bucket="b", Key="k", UploadId=uid)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert await pending(client) == [] and emu.objects.get("b", "k") is None
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    assert await refused(
        client, "complete_multipart_upload", Bucket="b", Key="k", UploadId=uid, MultipartUpload=parts
    ) == (404, "NoSuchUpload")
    assert await refused(client, "abort_multipart_upload", Bucket="b", Key="k", UploadId=uid) == (
        404,
        "NoSuchUpload",
    )


async def test_unknown_upload_and_part_numbers_out_of_range(emu: Emulator) -> None:
    client = boto(emu)
    assert await refused(
        client, "upload_part", Bucket="b", Key="k", UploadId="made-up-id", PartNumber=1, Body=b"x"
    ) == (404, "NoSuchUpload")
    uid = (await call(client, "create_multipart_upload", Bucket="b", Key="k"))["UploadId"]
    # an upload id is bound to its key
    assert await refused(
        client, "upload_part", Bucket="b", Key="other", UploadId=uid, PartNumber=1, Body=b"x"
    ) == (
        404,
        "NoSuchUpload",
    )
    for number in (0, 10001):
        assert await refused(
            client, "upload_part", Bucket="b", Key="k", UploadId=uid, PartNumber=number, Body=b"x"
        ) == (400, "InvalidArgument")
    ok = await call(client, "upload_part", Bucket="b", Key="k", UploadId=uid, PartNumber=10000, Body=b"x")
    assert ok["ETag"] == f'"{md5(b"x").hex()}"'


async def _two_parts(client: Any, key: str, first: bytes, second: bytes) -> tuple[str, list[dict[str, Any]]]:
    uid = (await call(client, "create_multipart_upload", Bucket="b", Key=key))["UploadId"]
    parts = []
    for number, data in ((1, first), (2, second)):
        answer = await call(
            client, "upload_part", Bucket="b", Key=key, UploadId=uid, PartNumber=number, Body=data
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    return uid, parts


async def test_completes_refused_for_order_parts_and_size(emu: Emulator) -> None:
    client = boto(emu)
    big = b"z" * (5 * MIB)
    uid, parts = await _two_parts(client, "k", big, b"end")

    async def complete(listed: list[dict[str, Any]], upload: str = uid, key: str = "k") -> tuple[int, str]:
        return await refused(
            client,
            "complete_multipart_upload",
            Bucket="b",
            Key=key,
            UploadId=upload,
            MultipartUpload={"Parts": listed},
        )

    assert await complete(parts[::-1]) == (400, "InvalidPartOrder")
    assert await complete([parts[0], parts[0]]) == (400, "InvalidPartOrder")
    assert await complete([parts[0], {"PartNumber": 3, "ETag": parts[1]["ETag"]}]) == (400, "InvalidPart")
    assert await complete([parts[0], {"PartNumber": 2, "ETag": parts[0]["ETag"]}]) == (400, "InvalidPart")
    small_uid, small = await _two_parts(client, "small", b"s" * (5 * MIB - 1), b"end")
    assert await complete(small, small_uid, "small") == (400, "EntityTooSmall")
    assert emu.objects.get("b", "k") is None and emu.objects.get("b", "small") is None
    # every refusal leaves the upload pending and completable
    assert sorted(await pending(client)) == sorted([uid, small_uid])
    done = await call(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="k",
        UploadId=uid,
        MultipartUpload={"Parts": parts},
    )
    assert done["ETag"].endswith('-2"')
    one = await call(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="small",
        UploadId=small_uid,
        MultipartUpload={"Parts": small[1:]},
    )  # a lone last part may be small (parts may be skipped)
    assert emu.objects.get("b", "small").body == b"end"  # type: ignore[union-attr]
    assert one["ETag"] == f'"{hashlib.md5(md5(b"end"), usedforsecurity=False).hexdigest()}-1"'
    assert await pending(client) == []


async def test_conditional_completes(emu: Emulator) -> None:
    client = boto(emu)
    emu.objects.put("b", "there", b"old")
    uid, parts = await _two_parts(client, "there", b"n" * (5 * MIB), b"ew")
    listed = {"Parts": parts}
    assert await refused(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="there",
        UploadId=uid,
        MultipartUpload=listed,
        IfNoneMatch="*",
    ) == (412, "PreconditionFailed")
    assert await refused(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="there",
        UploadId=uid,
        MultipartUpload=listed,
        IfMatch='"0123456789abcdef0123456789abcdef"',
    ) == (412, "PreconditionFailed")
    assert emu.objects.get("b", "there").body == b"old"  # type: ignore[union-attr]
    old = emu.objects.get("b", "there").etag  # type: ignore[union-attr]
    done = await call(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="there",
        UploadId=uid,
        MultipartUpload=listed,
        IfMatch=old,
    )
    assert emu.objects.get("b", "there").etag == done["ETag"]  # type: ignore[union-attr]
    fresh, fresh_parts = await _two_parts(client, "fresh", b"f" * (5 * MIB), b"!")
    await call(
        client,
        "complete_multipart_upload",
        Bucket="b",
        Key="fresh",
        UploadId=fresh,
        MultipartUpload={"Parts": fresh_parts},
        IfNoneMatch="*",
    )
    assert emu.objects.get("b", "fresh").size == 5 * MIB + 1  # type: ignore[union-attr]


async def test_malformed_complete_and_missing_selectors(emu: Emulator) -> None:
    client = boto(emu)
    uid = (await call(client, "create_multipart_upload", Bucket="b", Key="k"))["UploadId"]
    url = f"{emu.s3_url}/b/k"
    async with aiohttp.ClientSession() as http:
        for body in (
            b"not xml",
            b"<CompleteMultipartUpload/>",
            b'<!DOCTYPE x [<!ENTITY a "b">]><CompleteMultipartUpload/>',
        ):
            async with http.post(url, params={"uploadId": uid}, data=body, headers=signed(emu)) as r:
                assert r.status == 400 and "<Code>MalformedXML</Code>" in await r.text()
        async with http.post(url, headers=signed(emu)) as r:  # neither ?uploads nor ?uploadId
            assert r.status == 400 and "uploads" in await r.text()
        async with http.delete(url, headers=signed(emu)) as r:  # no DeleteObject in the subset
            assert r.status == 400 and "uploadId" in await r.text()
        async with http.put(url, params={"uploadId": uid}, data=b"x", headers=signed(emu)) as r:
            assert r.status == 400 and "partNumber" in await r.text()
    assert await pending(client) == [uid]


async def test_a_20_mib_file_through_open_store_then_skipped(emu: Emulator, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * (20 * MIB // 256))
    async with sentinelhub_client(emu) as sh:
        store = sh.open_store("s3://b")
        first = [out async for out in store.upload_each([(src, "up/big.bin")])]
        again = [out async for out in store.upload_each([(src, "up/big.bin")])]
    assert isinstance(first[0], Uploaded) and not first[0].skipped
    assert isinstance(again[0], Uploaded) and again[0].skipped
    stored = emu.objects.get("b", "up/big.bin")
    assert stored is not None and stored.body == src.read_bytes()
    assert stored.etag.endswith('-3"') and first[0].object is not None and first[0].object.etag == stored.etag
    assert await pending(boto(emu)) == []


async def test_user_metadata_is_kept_and_served_within_s3s_limit(emu: Emulator) -> None:
    client = boto(emu)
    await call(client, "put_object", Bucket="b", Key="m/one", Body=b"1", Metadata={"Run": "r-1", "n": "2"})
    head = await call(client, "head_object", Bucket="b", Key="m/one")
    assert head["Metadata"] == {"run": "r-1", "n": "2"}  # names are lower case, as S3 stores them
    started = await call(client, "create_multipart_upload", Bucket="b", Key="m/two", Metadata={"k": "v"})
    uid = started["UploadId"]
    part = await call(client, "upload_part", Bucket="b", Key="m/two", UploadId=uid, PartNumber=1, Body=b"x")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    await call(
        client, "complete_multipart_upload", Bucket="b", Key="m/two", UploadId=uid, MultipartUpload=parts
    )
    assert (await call(client, "get_object", Bucket="b", Key="m/two"))["Metadata"] == {"k": "v"}
    # Overwritten: the new object's metadata only.
    await call(client, "put_object", Bucket="b", Key="m/one", Body=b"2")
    assert (await call(client, "head_object", Bucket="b", Key="m/one"))["Metadata"] == {}
    status, code = await refused(
        client, "put_object", Bucket="b", Key="m/big", Body=b"1", Metadata={"a": "x" * 2048}
    )
    assert (status, code) == (400, "MetadataTooLarge")
    assert emu.objects.get("b", "m/big") is None


@pytest.mark.parametrize("size", [3 * MIB, 20 * MIB], ids=["one PUT", "in parts"])
async def test_sse_kms_etags_are_no_md5_and_reruns_still_skip(
    emu: Emulator, tmp_path: Path, size: int
) -> None:
    emu.objects.encrypt_with_kms("b")
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * (size // 256))
    async with sentinelhub_client(emu) as sh:
        store = sh.open_store("s3://b")
        first = await store.upload(src, "kms/x.bin")
        stored = emu.objects.get("b", "kms/x.bin")
        assert stored is not None and stored.body == src.read_bytes()
        assert hashlib.md5(stored.body).hexdigest() not in stored.etag  # what SSE-KMS does to ETags
        assert first.etag == stored.etag
        again = [out async for out in store.upload_each([(src, "kms/x.bin")])]
        assert isinstance(again[0], Uploaded) and again[0].skipped
        # Other content under the key (no eoclient metadata, or another MD5) is never taken for it.
        await call(boto(emu), "put_object", Bucket="b", Key="kms/y.bin", Body=src.read_bytes()[:-1] + b"?")
        other = tmp_path / "y.bin"
        other.write_bytes(src.read_bytes())
        with pytest.raises(ObjectExistsError):
            await store.upload(other, "kms/y.bin")

"""The rules around an upload, without a store: keys, part sizes, and when an object holds a file."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from eoclient.errors import ValidationError
from eoclient.storage import StoredObject, _upload

MIB = 1 << 20


def stored(size: int, etag: str) -> StoredObject:
    return StoredObject.from_meta(
        {"path": "k", "size": size, "e_tag": etag, "last_modified": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    )


@pytest.mark.parametrize("size", [9 * MIB, 80 * 1000 * MIB, 100 << 30, 5 << 40])
def test_parts_stay_within_s3s_limits(size: int) -> None:
    part = _upload.part_size(size)
    assert part >= _upload.PART_SIZE and part % MIB == 0
    assert -(-size // part) <= _upload.MAX_PARTS


def test_keys_prefixes_and_types() -> None:
    assert _upload.check_key("a/b..c/d.tif") == "a/b..c/d.tif"
    assert _upload.check_prefix("") == "" and _upload.check_prefix("runs/r-") == "runs/r-"
    with pytest.raises(ValidationError, match="1024"):
        _upload.check_key("k" * 1025)
    assert _upload.check_content_type(None, "a/b.tif") == "image/tiff"
    assert _upload.check_content_type(None, "a/b") is None
    assert _upload.check_content_type("text/plain; charset=utf-8", "b") == "text/plain; charset=utf-8"


def test_an_object_holds_a_file_when_its_etag_says_so(tmp_path: Path) -> None:
    body = bytes(range(256)) * (MIB // 256) * 11  # 11 MiB
    path = tmp_path / "f"
    path.write_bytes(body)
    md5 = hashlib.md5(body).hexdigest()
    assert _upload.file_md5(path) == md5

    def same(obj: StoredObject, stored_md5: str | None = None) -> bool:
        return _upload.same_file(obj, path, len(body), md5, stored_md5)

    assert same(stored(len(body), f'"{md5}"'))
    assert not same(stored(len(body), f'"{"0" * 32}"'))
    assert not same(stored(len(body) - 1, f'"{md5}"'))

    # S3's multipart ETag: the MD5 of the parts' MD5s, and their number (here parts of 5 MiB: 3).
    parts = [body[i : i + 5 * MIB] for i in range(0, len(body), 5 * MIB)]
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert same(stored(len(body), f'"{etag}-3"'))
    assert not same(stored(len(body), f'"{etag}-4"'))
    assert not same(stored(len(body), "opaque"))
    abc = hashlib.md5(b"abc").hexdigest()
    assert _upload.same_bytes(stored(3, f'"{abc}"'), abc, None, 3)
    assert not _upload.same_bytes(stored(3, f'"{etag}-1"'), abc, None, 3)


def test_the_md5_stored_with_an_object_decides_where_its_etag_cannot(tmp_path: Path) -> None:
    # SSE-KMS: the ETag is 32 hex digits that are not the MD5; the metadata eoclient wrote says.
    body = b"encrypted at rest" * 1000
    path = tmp_path / "f"
    path.write_bytes(body)
    md5 = hashlib.md5(body).hexdigest()
    kms = stored(len(body), f'"{"7" * 32}"')
    assert not _upload.same_file(kms, path, len(body), md5, None)
    assert _upload.same_file(kms, path, len(body), md5, md5)
    assert not _upload.same_file(kms, path, len(body), md5, "0" * 32)
    assert not _upload.same_file(stored(len(body) + 1, f'"{"7" * 32}"'), path, len(body), md5, md5)
    assert _upload.same_bytes(kms, md5, md5, len(body))
    assert not _upload.same_bytes(kms, md5, None, len(body))
    assert not _upload.same_bytes(kms, md5, md5, len(body) + 1)

"""Fixtures of the object-storage tests: a fresh bucket on moto, a store on it, a hostile proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from eoclient.storage import ObjectStore, StorageSettings, open_store
from tests.storage.proxy import S3Proxy, s3_proxy


def settings_for(s3: Any, endpoint: str | None = None) -> StorageSettings:
    return StorageSettings(
        endpoint=endpoint or s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        region=s3.region,
        environ={},
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    return str(s3.bucket())


@pytest.fixture
async def proxy(s3: Any) -> AsyncIterator[S3Proxy]:
    async with s3_proxy(s3.endpoint) as p:
        yield p


@pytest.fixture
def store(s3: Any, bucket: str) -> ObjectStore:
    return open_store(f"s3://{bucket}", settings_for(s3))


@pytest.fixture
def proxied(s3: Any, bucket: str, proxy: S3Proxy) -> ObjectStore:
    """The same bucket through the hostile proxy (fast retries: the test's own backoff)."""
    return open_store(f"s3://{bucket}", settings_for(s3, proxy.url))

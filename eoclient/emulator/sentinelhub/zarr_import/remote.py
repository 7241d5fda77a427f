"""A Zarr group read from a real S3 server (``Emulator(s3_endpoint=...)``: moto, MinIO...).

Ingestion reads what it needs once, when it ends: the group's and arrays'
metadata files and the chunks of the spatial coordinate arrays, listed with
``ListObjectsV2`` and fetched with SigV4-signed ``GET`` requests, into a
private :class:`~eoclient.emulator.core.objects.ObjectStore` that
:func:`~eoclient.emulator.sentinelhub.zarr_import.reader.read_group` reads
as it reads the emulator's own store. A bucket the server does not know (or
refuses) is left out of that store, so ingestion fails as for a missing bucket.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.deliveries import RemoteSink
from eoclient.emulator.core.objects import ObjectStore
from eoclient.emulator.core.sigv4 import sign

__all__ = ["remote_group"]

_NS: Final = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_METADATA: Final = frozenset({".zgroup", ".zattrs", ".zarray"})
_COORDINATES: Final = frozenset({"x", "y", "lat", "lon"})


def _url(sink: RemoteSink, bucket: str, key: str = "", query: dict[str, str] | None = None) -> URL:
    path = quote(bucket, safe="") + ("/" + quote(key, safe="/~") if key else "")
    # Encoded as SigV4 canonicalises it, so that the signature covers the query as sent.
    raw = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted((query or {}).items())
    )
    return URL(f"{sink.endpoint.rstrip('/')}/{path}" + (f"?{raw}" if raw else ""), encoded=True)


async def _get(session: aiohttp.ClientSession, sink: RemoteSink, url: URL) -> tuple[int, bytes]:
    headers = sign(
        "GET", url, b"", access_key=sink.access_key, secret_key=sink.secret_key, region=sink.region
    )
    async with session.get(url, headers=headers) as response:
        return response.status, await response.read()


async def _keys(
    session: aiohttp.ClientSession, sink: RemoteSink, bucket: str, prefix: str
) -> list[str] | None:
    """Every key under ``prefix``; ``None`` when the bucket cannot be listed."""
    keys: list[str] = []
    token: str | None = None
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        status, body = await _get(session, sink, _url(sink, bucket, query=query))
        if status >= 300:
            return None
        root = ET.fromstring(body)  # noqa: S314 -- the S3 server the emulator was configured with, not user input
        keys += [k.text or "" for k in root.iter(f"{_NS}Key")]
        token = root.findtext(f"{_NS}NextContinuationToken")
        if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
            return keys


def _needed(relative: str) -> bool:
    """A metadata file, or a chunk of a spatial coordinate array: what ingestion reads."""
    parts = relative.split("/")
    return parts[-1] in _METADATA or (len(parts) == 2 and parts[0] in _COORDINATES)


async def remote_group(sink: RemoteSink, clock: EmulatorClock, bucket: str, path: str) -> ObjectStore:
    """What ingestion reads of the group at ``s3://bucket/path`` on the sink's server, as a store."""
    store = ObjectStore(clock, auto_create=False)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            keys = await _keys(session, sink, bucket, path)
            if keys is None:
                return store
            store.create_bucket(bucket)
            for key in keys:
                if _needed(key[len(path) :]):
                    status, body = await _get(session, sink, _url(sink, bucket, key))
                    if status < 300:
                        store.put(bucket, key, body)
    except (aiohttp.ClientError, TimeoutError, ET.ParseError):
        return ObjectStore(clock, auto_create=False)  # unreadable: as a bucket not there
    return store

"""Object storage (S3 and S3-compatible stores) for job outputs: list, read, download.

Needs the ``s3`` extra (``pip install 'eoclient[s3]'``, which brings obstore);
importing this package does not import it, using a store without it raises
:class:`~eoclient.errors.ConfigurationError` saying what to install.

Example::

    from eoclient.storage import open_store

    store = open_store("s3://my-bucket/batch/outputs/")   # AWS_* variables or ~/.aws
    async for obj in store.list():
        print(obj.key, obj.size)
    await store.download_prefix("", "outputs/", concurrency=8)
"""

from __future__ import annotations

from eoclient.storage.settings import StorageSettings
from eoclient.storage.store import (
    ObjectSource,
    ObjectStore,
    StoredObject,
    object_url,
    open_store,
    parse_url,
)

__all__ = [
    "ObjectSource",
    "ObjectStore",
    "StorageSettings",
    "StoredObject",
    "object_url",
    "open_store",
    "parse_url",
]

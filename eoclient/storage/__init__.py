"""Object storage (S3 and S3-compatible stores) for job outputs: list, read, download, upload.

Needs the ``s3`` extra (``pip install 'eoclient[s3]'``, which brings obstore);
importing this package does not import it, using a store without it raises
:class:`~eoclient.errors.ConfigurationError` saying what to install.

Example::

    from eoclient.storage import open_store

    store = open_store("s3://my-bucket/batch/outputs/")   # AWS_* variables or ~/.aws
    async for obj in store.list():
        print(obj.key, obj.size)
    await store.download_prefix("", "outputs/", concurrency=8)
    await store.upload_prefix("renders/", "renders/", concurrency=8)   # skips what is already there
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
from eoclient.storage.uploads import BulkUploadError, Upload, Uploaded, UploadFailure, UploadReport

__all__ = [
    "BulkUploadError",
    "ObjectSource",
    "ObjectStore",
    "StorageSettings",
    "StoredObject",
    "Upload",
    "UploadFailure",
    "UploadReport",
    "Uploaded",
    "object_url",
    "open_store",
    "parse_url",
]

"""How each worker opens an object store: a picklable recipe that never shows its secret.

A :class:`StoreSpec` travels to the workers with the work that reads (or
writes) object storage; each worker builds its own
:class:`~eoclient.storage.StorageSettings` from it. Without credentials in
the spec, each worker finds them as one machine does (``AWS_*`` environment,
AWS profile): then no secret leaves the worker's host. Credentials given to
the spec are :class:`~eoclient._redact.Secret` (``repr`` shows ``'***'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eoclient._redact import Secret, register_secret
from eoclient.errors import ValidationError
from eoclient.storage.settings import StorageSettings
from eoclient.storage.store import ObjectStore, open_store

__all__ = ["StoreSpec", "StoreTarget"]


@dataclass(frozen=True)
class StoreSpec:
    """Where a store is and (optionally) who we are to it, as each worker should open it.

    Every field left ``None`` is found on the worker itself (its ``AWS_*``
    environment, its AWS profile). ``retries`` is obstore's per request, as
    in :func:`~eoclient.storage.open_store`.

    Example::

        StoreSpec(endpoint="https://eodata.dataspace.copernicus.eu")  # keys: each worker's AWS_*
        StoreSpec.of(sh.context.storage, credentials=True)  # the caller's keys travel (pickled)
    """

    endpoint: str | None = None
    region: str | None = None
    access_key: str | None = None
    secret_key: Secret | None = field(default=None, repr=False)
    session_token: Secret | None = field(default=None, repr=False)
    profile: str | None = None
    retries: int = 6

    def __post_init__(self) -> None:
        for name in ("secret_key", "session_token"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value))  # a plain string never stays in the spec
        if (self.access_key is None) != (self.secret_key is None):
            raise ValidationError("storage", "access_key and secret_key go together; give both or neither")
        if self.endpoint is not None and (
            not isinstance(self.endpoint, str) or not self.endpoint.startswith(("http://", "https://"))
        ):
            raise ValidationError("storage.endpoint", f"must be an http(s) URL, got {self.endpoint!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValidationError("storage.retries", f"must be an integer >= 0, got {self.retries!r}")

    @classmethod
    def of(cls, settings: StorageSettings, *, credentials: bool = False, retries: int = 6) -> StoreSpec:
        """The spec of ``settings`` (a store opened here): endpoint, region, keys if ``credentials``."""
        if not isinstance(settings, StorageSettings):
            raise ValidationError("storage", f"must be StorageSettings, got {type(settings).__name__}")
        if not credentials:
            return cls(settings.endpoint, settings.region, retries=retries)
        return cls(
            settings.endpoint,
            settings.region,
            settings.access_key,
            settings.secret_key,
            settings.session_token,
            retries=retries,
        )

    def settings(self) -> StorageSettings:
        """The worker's settings: this spec's values, the rest from the worker's environment."""
        for secret in (self.secret_key, self.session_token):
            if secret is not None:
                # Unpickled on a worker, the secret is not yet known to this process's log scrubbing.
                register_secret(secret.reveal())
        return StorageSettings(
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            profile=self.profile,
            session_token=self.session_token,
        )

    def open(self, url: str) -> ObjectStore:
        """The store at ``s3://bucket[/prefix]`` with :meth:`settings`."""
        return open_store(url, self.settings(), retries=self.retries)


@dataclass(frozen=True)
class StoreTarget:
    """Where the workers put what they make: a bucket of a store (the objects' keys travel with the items)."""

    store: StoreSpec
    bucket: str

"""Object storage locations (Amazon S3, Google Cloud Storage) in Sentinel Hub requests.

Async Process delivers its outputs to a bucket; Batch Statistical reads its
features from one and writes its results to another; both may read the
evalscript from one. They are written ``{"s3": {"url": ..., ...}}`` or
``{"gs": {"url": ..., "credentials": ...}}`` (OpenAPI ``ObjectStorageInfoV2``,
``S3BucketInfo``, ``S3BucketInfoTemplated``...).

Access keys and service-account credentials are secrets: every value is
registered with :func:`eoclient._redact.register_secret` as soon as a model
holds it (also when it comes back from the service), so it is scrubbed from
every log event and error text, and the models' ``repr()`` never shows it.

Example::

    ObjectStorage.from_s3("s3://my-bucket/results", access_key="AKIA...", secret_access_key=secret)
    ObjectStorage.from_s3("s3://my-bucket/results", iam_role_arn="arn:aws:iam::123456789012:role/sh")
    {"s3": {"url": "s3://my-bucket/results", "accessKey": "...", "secretAccessKey": "..."}}  # as a dict
    "s3://my-bucket/results"    # a bucket whose policy already lets Sentinel Hub in
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from eoclient._models import Model
from eoclient._redact import REDACTED, Secret, register_secret
from eoclient.errors import ValidationError
from eoclient.sentinelhub.process_models import to_request

__all__ = ["GSStorage", "ObjectStorage", "S3Storage", "check_storage", "prepare_storage", "url_placeholders"]

_PLACEHOLDER_RE: Final = re.compile(r"<[^<>]*>")
_SCHEMES: Final = {"s3": "s3://", "gs": "gs://"}


def _reveal(value: Any) -> Any:
    """A :class:`~eoclient._redact.Secret` as its value, anything else as it is."""
    return value.reveal() if isinstance(value, Secret) else value


def _masked(value: str | None) -> str | None:
    return None if value is None else REDACTED


class S3Storage(Model):
    """An S3 location: ``url`` (``s3://bucket/prefix``) and how Sentinel Hub may access it.

    Give ``access_key`` with ``secret_access_key``, or ``iam_role_arn`` (the
    recommended assume-role flow), or neither when the bucket policy lets
    Sentinel Hub in. ``region`` defaults to the deployment's region.
    """

    url: str
    iam_role_arn: str | None = msgspec.field(default=None, name="iamRoleARN")
    access_key: str | None = None
    secret_access_key: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        # Registered as soon as a model holds them, so no log or error can show them.
        register_secret(self.access_key)
        register_secret(self.secret_access_key)

    def __repr__(self) -> str:
        return (
            f"S3Storage(url={self.url!r}, iam_role_arn={self.iam_role_arn!r}, "
            f"access_key={_masked(self.access_key)!r}, "
            f"secret_access_key={_masked(self.secret_access_key)!r}, region={self.region!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            ("url", self.url),
            ("iam_role_arn", self.iam_role_arn),
            ("access_key", _masked(self.access_key)),
            ("secret_access_key", _masked(self.secret_access_key)),
            ("region", self.region),
        ]


class GSStorage(Model):
    """A Google Cloud Storage location: ``url`` (``gs://bucket/prefix``) and base64 service-account JSON."""

    url: str
    credentials: str | None = None

    def __post_init__(self) -> None:
        register_secret(self.credentials)

    def __repr__(self) -> str:
        return f"GSStorage(url={self.url!r}, credentials={_masked(self.credentials)!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [("url", self.url), ("credentials", _masked(self.credentials))]


class ObjectStorage(Model):
    """``{"s3": {...}}`` or ``{"gs": {...}}``: exactly one of them."""

    s3: S3Storage | None = None
    gs: GSStorage | None = None

    @classmethod
    def from_s3(
        cls,
        url: str,
        *,
        access_key: str | Secret | None = None,
        secret_access_key: str | Secret | None = None,
        iam_role_arn: str | None = None,
        region: str | None = None,
    ) -> ObjectStorage:
        """An S3 location; the keys may be :class:`~eoclient._redact.Secret` objects."""
        return cls(
            s3=S3Storage(
                url=url,
                access_key=_reveal(access_key),
                secret_access_key=_reveal(secret_access_key),
                iam_role_arn=iam_role_arn,
                region=region,
            )
        )

    @classmethod
    def from_gs(cls, url: str, *, credentials: str | Secret) -> ObjectStorage:
        """A Google Cloud Storage location with base64-encoded service-account credentials."""
        return cls(gs=GSStorage(url=url, credentials=_reveal(credentials)))

    @property
    def url(self) -> str | None:
        """The URL of whichever location is set."""
        if self.s3 is not None:
            return self.s3.url
        return self.gs.url if self.gs is not None else None


def url_placeholders(url: str) -> list[str]:
    """The ``<...>`` template placeholders of a URL, in order (``["<REQUEST_ID>", "<ID>"]``)."""
    return _PLACEHOLDER_RE.findall(url)


def _check_url(url: str, scheme: str, field: str) -> None:
    prefix = _SCHEMES[scheme]
    if not url.startswith(prefix):
        raise ValidationError(field, f"must start with {prefix}, got {url!r}")
    bucket = url[len(prefix) :].split("/", 1)[0]
    if not bucket or bucket != bucket.strip() or "<" in bucket:
        raise ValidationError(field, f"needs a bucket name after {prefix}")
    if any(c.isspace() for c in url):
        raise ValidationError(field, "must not contain whitespace")


def check_storage(
    storage: ObjectStorage,
    field: str,
    *,
    placeholders: frozenset[str] = frozenset(),
    require_one_of: frozenset[str] = frozenset(),
) -> None:
    """Check a location before anything is sent; raises :class:`ValidationError` naming the field.

    ``placeholders`` are the template placeholders the URL may hold (none by
    default); when it holds any, it must hold one of ``require_one_of`` too
    (e.g. ``<ID>`` so that every feature gets its own file).
    """
    given = [name for name in ("s3", "gs") if getattr(storage, name) is not None]
    if len(given) != 1:
        raise ValidationError(field, "give exactly one of s3 or gs")
    if storage.s3 is not None:
        s3 = storage.s3
        _check_url(s3.url, "s3", f"{field}.s3.url")
        if (s3.access_key is None) != (s3.secret_access_key is None):
            missing = "secretAccessKey" if s3.secret_access_key is None else "accessKey"
            raise ValidationError(f"{field}.s3.{missing}", "accessKey and secretAccessKey go together")
        for name, value in (("accessKey", s3.access_key), ("secretAccessKey", s3.secret_access_key)):
            if value is not None and not value.strip():
                raise ValidationError(f"{field}.s3.{name}", "must not be empty")
        if s3.iam_role_arn is not None and not s3.iam_role_arn.startswith("arn:"):
            raise ValidationError(
                f"{field}.s3.iamRoleARN", "must be an ARN (arn:aws:iam::<account>:role/<name>)"
            )
        url, url_field = s3.url, f"{field}.s3.url"
    else:
        gs = storage.gs
        assert gs is not None
        _check_url(gs.url, "gs", f"{field}.gs.url")
        if not gs.credentials:
            raise ValidationError(f"{field}.gs.credentials", "is required (base64 service-account JSON)")
        url, url_field = gs.url, f"{field}.gs.url"
    found = url_placeholders(url)
    unknown = sorted({p for p in found if p not in placeholders})
    if unknown:
        allowed = ", ".join(sorted(placeholders)) or "none"
        raise ValidationError(url_field, f"unknown placeholder {unknown[0]} (allowed: {allowed})")
    if found and require_one_of and not require_one_of.intersection(found):
        needed = " or ".join(sorted(require_one_of))
        raise ValidationError(url_field, f"a templated URL must contain {needed}")


def prepare_storage(
    value: Any,
    field: str,
    *,
    placeholders: frozenset[str] = frozenset(),
    require_one_of: frozenset[str] = frozenset(),
) -> tuple[ObjectStorage, dict[str, Any]]:
    """``(model, wire dict)`` of a location given as a model, a docs-style dict or a plain URL.

    A plain ``"s3://..."`` URL means no credentials (a bucket policy grants access).
    """
    if isinstance(value, str):
        if value.startswith(_SCHEMES["gs"]):
            raise ValidationError(
                f"{field}.gs.credentials", "is required: give {'gs': {'url', 'credentials'}}"
            )
        value = {"s3": {"url": value}}
    elif isinstance(value, S3Storage):
        value = ObjectStorage(s3=value)
    elif isinstance(value, GSStorage):
        value = ObjectStorage(gs=value)
    elif isinstance(value, Mapping):
        value = {k: _reveal_all(v) for k, v in value.items()}
    try:
        # to_request keeps the keys of a dict this model does not know (new options are sent as written).
        model, wire = to_request(value, ObjectStorage)
    except ValidationError as exc:
        text = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
        raise ValidationError(field + exc.field.removeprefix("request"), text) from None
    check_storage(model, field, placeholders=placeholders, require_one_of=require_one_of)
    return model, wire


def _reveal_all(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _reveal(v) for k, v in value.items()}
    return value

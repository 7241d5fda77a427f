"""The one place that talks to obstore: building its S3 store, and turning its errors into ours.

obstore (Rust's ``object_store`` behind an asyncio API) is an optional
dependency, imported on first use. Its retry handles 5xx answers (503
SlowDown included), connections that fail, and bodies that break off
mid-way (it continues them with ``Range`` itself), with exponential backoff.
When its retries run out the error surfaces here as
:class:`~eoclient.errors.StorageConnectionError`, which the bulk engine
resumes in its turn (``Range`` + ``If-Match``).
"""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import re
import weakref
from typing import Any, Final

from eoclient.errors import (
    ConfigurationError,
    EOClientError,
    ObjectExistsError,
    ObjectNotFoundError,
    StorageAccessError,
    StorageConnectionError,
    StorageError,
)
from eoclient.storage.settings import StorageSettings

INSTALL: Final = "pip install 'eoclient[s3]'"
_STATUS: Final = re.compile(r"status code: (\d{3})")
_CODE: Final = re.compile(r"<Code>([^<]{1,100})</Code>")
_MESSAGE: Final = re.compile(r"<Message>([^<]{0,500})</Message>")
_ACCESS_CODES: Final = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


def obstore() -> Any:
    """The obstore module, or a :class:`ConfigurationError` that says what to install."""
    try:
        import obstore as module  # noqa: PLC0415 - optional dependency, imported on first use
    except ImportError:
        raise ConfigurationError(f"object storage needs the s3 extra: {INSTALL}") from None
    return module


_LIVE: Final[weakref.WeakSet[Any]] = weakref.WeakSet()
_hooked = False


def release_at_exit(owner: Any) -> None:
    """Drop ``owner._store`` (its obstore store) at interpreter exit, while Python is still whole.

    obstore runs on a Rust (tokio) runtime whose worker threads outlive the
    interpreter's finalization: a store still alive then is dropped mid-
    teardown and can abort the process (SIGABRT, exit code 134) — measured
    here at about 1 run in 30 of a script that keeps a store to the end, none
    in 60 with this hook. Scripts rely on their exit code.
    """
    global _hooked  # noqa: PLW0603 - one hook per process, registered on the first store
    if not _hooked:
        atexit.register(_release)
        _hooked = True
    _LIVE.add(owner)


def _release() -> None:
    for owner in list(_LIVE):
        owner._store = None
    gc.collect()


def build_store(bucket: str, prefix: str, settings: StorageSettings, *, retries: int = 6) -> Any:
    """An obstore ``S3Store`` for ``bucket``/``prefix`` (path-style, as S3-compatible stores expect)."""
    from obstore.store import S3Store  # noqa: PLC0415 - optional dependency

    config: dict[str, Any] = {"virtual_hosted_style_request": False}
    if settings.endpoint:
        config["endpoint"] = settings.endpoint
    if settings.region:
        config["region"] = settings.region
    if settings.access_key and settings.secret_key:
        config["access_key_id"] = settings.access_key
        config["secret_access_key"] = settings.secret_key.reveal()
        if settings.session_token:
            config["session_token"] = settings.session_token.reveal()
    else:
        config["skip_signature"] = True
    client: Any = {
        "allow_http": bool(settings.endpoint and settings.endpoint.startswith("http://")),
        "connect_timeout": "10s",
        # object_store's timeout covers a whole request, body included: long enough for a large
        # object; a transfer cut by it is resumed by the bulk engine.
        "timeout": "600s",
    }
    retry: Any = {
        "max_retries": retries,
        "retry_timeout": dt.timedelta(minutes=2),
        "backoff": {"init_backoff": dt.timedelta(milliseconds=100), "max_backoff": dt.timedelta(seconds=8)},
    }
    try:
        return S3Store(bucket, prefix=prefix or None, client_options=client, retry_config=retry, **config)
    except Exception as exc:
        raise ConfigurationError(f"storage: cannot configure s3://{bucket}: {type(exc).__name__}") from None


def is_precondition(exc: BaseException) -> bool:
    from obstore.exceptions import PreconditionError  # noqa: PLC0415 - optional dependency

    return isinstance(exc, PreconditionError)


def is_already_exists(exc: BaseException) -> bool:
    """True for obstore's answer to a create (``If-None-Match: *``) that found an object."""
    from obstore.exceptions import AlreadyExistsError  # noqa: PLC0415 - optional dependency

    return isinstance(exc, AlreadyExistsError)


def translate(exc: BaseException, *, bucket: str, key: str, doing: str) -> EOClientError:
    """Our typed error for an obstore exception: the store's status, code and message; no secret."""
    from obstore import exceptions as ox  # noqa: PLC0415 - optional dependency

    text = str(exc)
    status_m, code_m, msg_m = _STATUS.search(text), _CODE.search(text), _MESSAGE.search(text)
    status = int(status_m.group(1)) if status_m else None
    code = code_m.group(1) if code_m else None
    message = msg_m.group(1) if msg_m else None
    details: dict[str, Any] = {"bucket": bucket, "key": key, "code": code, "store_message": message}
    if isinstance(exc, ox.AlreadyExistsError):
        return ObjectExistsError(
            f"{doing}: another object is already under this key", status=status, **details
        )
    if isinstance(exc, ox.NotFoundError | FileNotFoundError) or status == 404:
        return ObjectNotFoundError(f"{doing}: not found", status=status or 404, **details)
    if (
        isinstance(exc, ox.PermissionDeniedError | ox.UnauthenticatedError)
        or status in (401, 403)
        or code in _ACCESS_CODES
    ):
        return StorageAccessError(f"{doing}: access refused", status=status, **details)
    if status is None and isinstance(exc, ox.GenericError | ox.BaseError | OSError):
        # No HTTP answer at all: refused, reset, timed out, or a body that broke off.
        return StorageConnectionError(f"{doing}: connection to the store failed or dropped", **details)
    return StorageError(f"{doing} failed", status=status, **details)


def as_stored_time(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))


__all__ = [
    "INSTALL",
    "StorageError",
    "build_store",
    "is_already_exists",
    "is_precondition",
    "obstore",
    "release_at_exit",
    "translate",
]

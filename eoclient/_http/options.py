"""What one call asked for, settled once: the frozen :class:`RequestOptions` every stage reads.

:meth:`~eoclient._http.transport.Transport.request` and its siblings take the
per-call keyword arguments; :func:`request_options` resolves them against the
client's defaults (dialect, retry policy, timeouts) exactly once, encodes the
body and decides what the body allows (a retry, a replay, a redirect). No
stage reads a per-request setting from the client afterwards.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol, TypedDict

import aiohttp
import msgspec

from eoclient._checks import check_seconds
from eoclient._http.auth import TokenProvider
from eoclient._http.dialects import ServiceDialect
from eoclient._http.retry import RetryPolicy

__all__ = [
    "CallOptions",
    "ClientDefaults",
    "ErrorContext",
    "RequestOptions",
    "Timeouts",
    "encode_body",
    "is_one_shot",
    "request_options",
]

_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_REDIRECTABLE_METHODS: Final = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed to connect, between two reads, and for a whole buffered request.

    Streams (downloads) are bound by ``connect`` and ``read`` only, never by
    ``total``, so a large file is not cut off for being large. Each is a number
    of seconds > 0, or ``None`` for no limit; anything else is a
    :class:`~eoclient.errors.ValidationError` naming it (``Timeouts.total``).
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    total: float | None = 300.0
    # aiohttp's form (buffered, stream), built once: every request asks for one.
    _client: tuple[aiohttp.ClientTimeout, aiohttp.ClientTimeout] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            check_seconds(f"Timeouts.{name}", getattr(self, name), positive=True, optional=True)
        buffered = aiohttp.ClientTimeout(total=self.total, sock_connect=self.connect, sock_read=self.read)
        stream = aiohttp.ClientTimeout(total=None, sock_connect=self.connect, sock_read=self.read)
        object.__setattr__(self, "_client", (buffered, stream))

    def client_timeout(self, *, stream: bool = False) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for a buffered request, or for a stream (no ``total``)."""
        return self._client[stream]


class CallOptions(TypedDict, total=False):
    """The per-call keywords of ``Transport.request``/``request_json``/``stream``, spelled once.

    ``params``: the query; ``json`` or ``data``: the body (a mapping as
    ``data`` is a form); ``headers``: extra headers; ``idempotent``: may it be
    retried after it may have reached the service (default from the method:
    pass ``True`` for a POST that only reads); ``authenticate``: send the
    bearer (default true); ``retry``/``timeout``/``dialect``: this call's
    instead of the client's; ``rate_limited``: wait in the client's limiter
    (default true); ``ok``: non-2xx statuses to return instead of raising
    (``{404: True}``); ``expect``: the media types a 2xx answer may have.
    """

    params: Mapping[str, Any] | None
    json: Any
    data: Any
    headers: Mapping[str, str] | None
    idempotent: bool | None
    authenticate: bool
    retry: RetryPolicy | None
    timeout: Timeouts | None
    dialect: ServiceDialect | None
    rate_limited: bool
    ok: Mapping[int, bool] | None
    expect: Collection[str] | None


class ErrorContext(TypedDict):
    """What every error about a request names: the operation, method, URL path and service."""

    operation: str
    method: str
    path: str
    service: str


class ClientDefaults(Protocol):
    """What a request falls back to when the call does not say (the transport)."""

    @property
    def dialect(self) -> ServiceDialect: ...
    @property
    def retry(self) -> RetryPolicy: ...
    @property
    def timeouts(self) -> Timeouts: ...
    @property
    def auth(self) -> TokenProvider | None: ...


class RequestOptions(NamedTuple):
    """One request's settings, resolved: nothing here is looked up on the client again.

    Immutable, and a named tuple rather than a frozen dataclass because it is
    built on every request: a frozen dataclass of these 18 fields costs about
    four times as much to create (each field set through ``object.__setattr__``).

    ``url`` is where the request starts (a redirect moves the
    :class:`~eoclient._http.stages.Exchange`, never this). ``headers`` already
    holds the body's Content-Type. ``retry`` is :meth:`RetryPolicy.never` for a
    one-shot body. ``service`` names the client (errors say which service
    failed) while ``dialect`` is this request's: a token endpoint's errors and
    ``Retry-After`` unit are OAuth's even on a SpaceKnow client.
    """

    method: str
    url: str
    operation: str
    params: Mapping[str, Any] | None
    payload: Any
    headers: Mapping[str, str]
    idempotent: bool
    authenticate: bool
    retry: RetryPolicy
    timeout: aiohttp.ClientTimeout
    dialect: ServiceDialect
    service: str
    rate_limited: bool
    ok: Mapping[int, bool] | None
    expect: Collection[str] | None
    stream: bool
    one_shot: bool
    may_redirect: bool

    def accepts(self, status: int) -> bool:
        """Whether ``status`` is an answer to hand back (2xx, or listed in ``ok``) rather than an error."""
        return 200 <= status < 300 or (self.ok is not None and bool(self.ok.get(status)))

    def error_context(self, path: str) -> ErrorContext:
        """The keywords an :class:`~eoclient.errors.APIError` about this request (now at ``path``) takes."""
        return {"operation": self.operation, "method": self.method, "path": path, "service": self.service}


def request_options(
    client: ClientDefaults,
    method: str,
    url: str,
    call: CallOptions,
    *,
    operation: str,
    stream: bool,
) -> RequestOptions:
    """One call's options: its keywords ``call`` (see ``Transport.request``), the rest from ``client``.

    ``call`` is the dict the call's ``**`` made, passed on as it is (not re-spread: every request).
    """
    method = method.upper()
    json, data = call.get("json"), call.get("data")
    payload: Any
    content_type: str | None
    if json is None and (data is None or type(data) is bytes):  # no body, or one encoded already
        payload, content_type = data, None
    else:
        payload, content_type = encode_body(json, data)
    headers = call.get("headers")
    all_headers: Mapping[str, str]
    if content_type:
        own = dict(headers) if headers else {}
        if "Content-Type" not in own:
            own["Content-Type"] = content_type
        all_headers = own
    elif headers:
        # A read-only mapping (a prepared request's) is its maker's to keep; any other is copied, so
        # that a caller changing its dict later changes nothing of a retry.
        all_headers = headers if type(headers) is MappingProxyType else dict(headers)
    else:
        all_headers = _NO_HEADERS  # read-only: nobody adds to a request's own headers
    idempotent = call.get("idempotent")
    # A streamed upload (async iterable, file object) can be sent only once: no retry, no replay.
    one_shot = payload is not None and type(payload) is not bytes and is_one_shot(payload)
    timeouts = call.get("timeout") or client.timeouts
    dialect = client.dialect
    # Positional, through tuple.__new__: a NamedTuple's keyword constructor is a Python function
    # (about three times the cost, on every request). The order is RequestOptions' fields'.
    return _new_options(
        RequestOptions,
        (
            method,
            url,
            operation,
            call.get("params"),
            payload,
            all_headers,
            method in _IDEMPOTENT_METHODS if idempotent is None else idempotent,
            call.get("authenticate", True) and client.auth is not None,
            RetryPolicy.never() if one_shot else call.get("retry") or client.retry,
            timeouts._client[stream],
            call.get("dialect") or dialect,
            # Errors name the client's service, whichever dialect this request speaks.
            dialect.name,
            call.get("rate_limited", True),
            call.get("ok"),
            call.get("expect"),
            stream,
            one_shot,
            # Only a read without a body follows a redirect, and only on this host (see stages.RedirectStage).
            method in _REDIRECTABLE_METHODS and payload is None,
        ),
    )


_new_options = tuple.__new__
_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


def is_one_shot(payload: Any) -> bool:
    """True for bodies consumed by sending them: async iterators (generators) and file objects.

    A re-iterable body (an object whose ``__aiter__`` starts over each time, as
    the upload sources of the service modules are) can be sent again.
    """
    if payload is None or type(payload) is bytes:  # the usual bodies, before the general test
        return False
    if isinstance(payload, bytes | bytearray | str | aiohttp.FormData):
        return False
    return hasattr(payload, "__anext__") or hasattr(payload, "read")


def encode_body(json: Any, data: Any) -> tuple[Any, str | None]:
    """The payload to send and its Content-Type (None: aiohttp's own, e.g. a form's)."""
    if json is None and (data is None or type(data) is bytes):  # no body, or one encoded already
        return data, None
    if json is not None and data is not None:
        raise ValueError("pass either json or data, not both")
    if json is not None:
        return msgspec.json.encode(json), "application/json"
    if isinstance(data, Mapping):
        return aiohttp.FormData(dict(data)), None
    return data, None

"""The transport core: one aiohttp session per client and every transport concern around it.

Service modules call :meth:`Transport.request`, :meth:`Transport.request_json`
or :meth:`Transport.stream`; they never touch aiohttp. A request goes through
the rate limiter, gets a bearer from the token provider, is retried by the
:class:`RetryPolicy` on transient failures, is replayed once after a 401 with
a fresh token, and comes back as bytes, a typed model or a stream — or as a
typed :mod:`eoclient.errors` exception with the service's code and message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar, overload
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import msgspec
from multidict import CIMultiDictProxy

from eoclient._checks import check_int, check_seconds
from eoclient._http import media
from eoclient._http.auth import TokenProvider
from eoclient._http.dialects import OAUTH, ServiceDialect
from eoclient._http.ratelimit import RateLimit, RateLimiter
from eoclient._http.retry import RetryPolicy, parse_retry_after
from eoclient._log import log_event
from eoclient._models import from_json
from eoclient._version import __version__
from eoclient.errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    ClientRateLimitError,
    EOClientError,
    ForeignHostError,
    TransportError,
    UnexpectedContentError,
    UnsafeRedirectError,
    api_error_class,
)
from eoclient.errors import TimeoutError as EOTimeoutError

__all__ = ["ConnectionLimits", "Response", "StreamResponse", "Timeouts", "Transport"]

T = TypeVar("T")

_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_REDIRECTABLE_METHODS: Final = frozenset({"GET", "HEAD"})
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5
# A token revoked twice within one call (a rotation racing a revocation) is still survivable; a
# third 401 in a row means the credentials themselves are refused.
_MAX_REPLAYS: Final = 2
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_EXCERPT_BYTES: Final = 512
_ERROR_SNIFF_BYTES: Final = 64
_USER_AGENT: Final = f"eoclient/{__version__}"


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

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            check_seconds(f"Timeouts.{name}", getattr(self, name), positive=True, optional=True)

    def client_timeout(self, *, stream: bool = False) -> aiohttp.ClientTimeout:
        return _client_timeout(self, stream)


@functools.lru_cache(maxsize=64)
def _client_timeout(timeouts: Timeouts, stream: bool) -> aiohttp.ClientTimeout:
    """Built once per setting: it is asked for on every request."""
    return aiohttp.ClientTimeout(
        total=None if stream else timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
    )


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Connector limits: open connections in total and per host (0 = unlimited).

    ``keepalive_timeout`` is how many seconds an idle connection is kept for
    reuse. A wrong type or value is a :class:`~eoclient.errors.ValidationError`
    naming the field (``ConnectionLimits.total``).
    """

    total: int = 100
    per_host: int = 0
    keepalive_timeout: float = 30.0

    def __post_init__(self) -> None:
        check_int("ConnectionLimits.total", self.total, minimum=0)
        check_int("ConnectionLimits.per_host", self.per_host, minimum=0)
        check_seconds("ConnectionLimits.keepalive_timeout", self.keepalive_timeout)


@dataclass(frozen=True, slots=True)
class Response:
    """A buffered HTTP answer."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    path: str
    operation: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @overload
    def json(self) -> Any: ...
    @overload
    def json(self, type: type[T]) -> T: ...
    def json(self, type: Any = Any) -> Any:
        """Decode the body as JSON, into ``type`` when given (a msgspec Struct, dict, list...)."""
        return decode_json(self.body, type, path=self.path, operation=self.operation)


def decode_json(body: bytes, type_: Any = Any, *, path: str = "", operation: str = "") -> Any:
    """JSON bytes into ``type_``, checked as every answer is (see :func:`eoclient._models.from_json`)."""
    return from_json(body, type_, operation=operation, path=path)


class StreamResponse:
    """An HTTP answer whose body is read in chunks (imagery, files)."""

    def __init__(self, resp: aiohttp.ClientResponse, *, operation: str, path: str) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers
        self.path = path
        self._operation = operation

    @property
    def content_length(self) -> int | None:
        return self._resp.content_length

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    async def iter_chunks(self, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes.

        A connection lost mid-body raises :class:`TransportError` (or
        :class:`~eoclient.errors.TimeoutError`), never a silent short body.
        """
        error: TransportError | None = None
        try:
            async for chunk in self._resp.content.iter_chunked(chunk_size):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = _transport_error(exc, self._operation, self._resp.method, self.path)
        if error is not None:
            # Raised outside the handler, unchained: aiohttp's exception holds the request headers.
            raise error

    async def read(self) -> bytes:
        """The whole remaining body."""
        parts = [chunk async for chunk in self.iter_chunks()]
        return b"".join(parts)


def _transport_error(exc: BaseException, operation: str, method: str, path: str) -> TransportError:
    """The typed error for a low-level failure; the caller raises it unchained (see TransportError)."""
    kind = type(exc).__name__
    sent = not _never_sent(exc)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return EOTimeoutError(
            f"timed out: {kind}", operation=operation, method=method, path=path, cause_type=kind, sent=sent
        )
    detail = _describe(exc)
    return TransportError(
        f"connection failed: {detail}",
        operation=operation,
        method=method,
        path=path,
        cause_type=kind,
        sent=sent,
    )


def _describe(exc: BaseException) -> str:
    """A one-line account of an aiohttp failure without its request headers (str() may include them)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{type(exc).__name__}: {exc.message}" if exc.message else type(exc).__name__
    return str(exc) or type(exc).__name__


def _never_sent(exc: BaseException) -> bool:
    """True when the request provably did not reach the server (no connection was made)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # timed out while connecting
        return True
    return isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    )


def _retryable_transport(exc: BaseException) -> bool:
    return not isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError)


class Transport:
    """One client's HTTP machinery. Created by the service clients; use them instead.

    The :class:`aiohttp.ClientSession` is created lazily inside the running
    loop on first use and closed by :meth:`aclose`. After closing, every call
    raises :class:`ClientClosedError`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        dialect: ServiceDialect,
        auth: TokenProvider | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
        user_agent: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self.dialect = dialect
        self.auth = auth
        self.retry = retry or RetryPolicy()
        # The limiter sleeps through the transport's sleep, so one test hook observes every wait.
        self.limiter = RateLimiter(rate_limit, sleep=lambda seconds: self._sleep(seconds))  # noqa: PLW0108 - late binding
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or ConnectionLimits()
        self.user_agent = user_agent or _USER_AGENT
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._sleep = asyncio.sleep  # replaced in tests to observe backoff

    # -- lifecycle -----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def open(self) -> None:
        """Create the session now (it is otherwise created on first use)."""
        self._get_session()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this client is closed; create a new one (or use `async with`)")
        loop = asyncio.get_running_loop()
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.limits.total,
                limit_per_host=self.limits.per_host,
                keepalive_timeout=self.limits.keepalive_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent},
                timeout=self.timeouts.client_timeout(),
                # Bodies are decoded by msgspec; aiohttp must not guess encodings.
                auto_decompress=True,
            )
            self._loop = loop
        elif self._loop is not loop:
            raise ClientClosedError("this client belongs to another event loop; create one client per loop")
        return self._session

    async def aclose(self) -> None:
        """Close the session and its connections. Safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Transport({self.dialect.name!r}, {self.base_url!r}, {state})"

    # -- requests ------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (absolute URLs pass through unchanged)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def authenticate(self) -> None:
        """Obtain a token now if none is cached (no-op without auth)."""
        if self.auth is not None:
            await self.auth.token(self._token_call)

    async def _token_call(
        self, url: str, form: Mapping[str, str] | None, body: Mapping[str, str] | None
    ) -> Any:
        resp = await self.request(
            "POST",
            url,
            operation="auth.token",
            data=form,
            json=body,
            authenticate=False,
            idempotent=True,  # asking for a token twice is harmless
            dialect=OAUTH,
            rate_limited=False,
        )
        return resp.json()

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        retry: RetryPolicy | None = None,
        timeout: Timeouts | None = None,
        dialect: ServiceDialect | None = None,
        rate_limited: bool = True,
        ok: Mapping[int, bool] | None = None,
        expect: Collection[str] | None = None,
    ) -> Response:
        """Send a request and buffer its answer.

        ``operation`` names what is being done (``"catalog.search"``) for logs
        and errors. ``idempotent`` defaults from the method; pass ``True`` for a
        POST that only reads (search, process, status). ``ok`` lists extra
        non-2xx statuses to return instead of raising (e.g. ``{404: True}``).
        ``expect`` lists the media types a 2xx answer may have (see
        :func:`eoclient._http.media.matches`); any other type raises
        :class:`~eoclient.errors.UnexpectedContentError` before the body is used.
        """
        async with self._exchange(
            method,
            path,
            operation=operation,
            params=params,
            json=json,
            data=data,
            headers=headers,
            idempotent=idempotent,
            authenticate=authenticate,
            retry=retry,
            timeout=timeout,
            dialect=dialect,
            rate_limited=rate_limited,
            ok=ok,
            expect=expect,
            stream=False,
        ) as (resp, body):
            assert body is not None
            return Response(resp.status, resp.headers, body, urlsplit(str(resp.url)).path, operation)

    async def request_json(
        self, method: str, path: str, *, operation: str, type: Any = Any, **kwargs: Any
    ) -> Any:
        """:meth:`request`, then decode the JSON answer into ``type`` (a non-JSON answer is refused)."""
        kwargs.setdefault("expect", media.JSON)
        resp = await self.request(method, path, operation=operation, **kwargs)
        return decode_json(resp.body, type, path=resp.path, operation=operation)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        **kwargs: Any,
    ) -> AsyncIterator[StreamResponse]:
        """Send a request and read the answer as a stream.

        Retries cover the request up to the response headers; a body broken
        off later raises :class:`TransportError` from the iterator (resume with
        a ``Range`` header). The connection is released when the block exits,
        however it exits.

        Example::

            async with transport.stream("GET", "/file", operation="byoc.file") as resp:
                async for chunk in resp.iter_chunks():
                    ...
        """
        async with self._exchange(method, path, operation=operation, stream=True, **kwargs) as (resp, _):
            yield StreamResponse(resp, operation=operation, path=urlsplit(str(resp.url)).path)

    @asynccontextmanager
    async def _exchange(  # noqa: PLR0915 - one retry loop reads best in one place
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        retry: RetryPolicy | None = None,
        timeout: Timeouts | None = None,
        dialect: ServiceDialect | None = None,
        rate_limited: bool = True,
        ok: Mapping[int, bool] | None = None,
        expect: Collection[str] | None = None,
        stream: bool,
    ) -> AsyncIterator[tuple[aiohttp.ClientResponse, bytes | None]]:
        session = self._get_session()
        method = method.upper()
        url = self.url(path)
        dialect = dialect or self.dialect
        policy = retry or self.retry
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT_METHODS
        client_timeout = (timeout or self.timeouts).client_timeout(stream=stream)
        payload, content_type = _encode_body(json, data)
        base_headers = dict(headers or {})
        if content_type and "Content-Type" not in base_headers:
            base_headers["Content-Type"] = content_type
        use_auth = authenticate and self.auth is not None
        if use_auth and url == path:  # an absolute URL from the caller (a relative path is ours)
            self.check_own_host(url, operation=operation)
        # A streamed upload (async iterable, file object) can be sent only once: no retry, no replay.
        one_shot = _one_shot(payload)
        if one_shot:
            policy = RetryPolicy.never()
        # Only a read without a body follows a redirect, and only on this host (see _redirect_target).
        may_redirect = method in _REDIRECTABLE_METHODS and payload is None

        attempt = 0  # retries consumed
        replays = 0  # replays after a 401 with a refreshed token
        redirects = 0
        while True:
            url_path = urlsplit(url).path
            if rate_limited:
                try:
                    await self.limiter.acquire()
                except ClientRateLimitError as exc:  # nothing was sent: say what would have been
                    raise ClientRateLimitError(
                        retry_after=exc.retry_after,
                        service_message=exc.service_message,
                        operation=operation,
                        method=method,
                        path=url_path,
                        service=self.dialect.name,
                    ) from None
            send_headers = dict(base_headers)
            token: str | None = None
            if use_auth:
                assert self.auth is not None
                token = await self.auth.token(self._token_call)
                send_headers["Authorization"] = f"Bearer {token}"
            log_event(
                logging.DEBUG,
                "http.request",
                method=method,
                path=url_path,
                operation=operation,
                attempt=attempt + 1,
            )
            started = time.monotonic()
            error: EOClientError
            retry_after: float | None = None
            retryable: bool
            try:
                ctx = session.request(
                    method,
                    url,
                    params=params,
                    data=payload,
                    headers=send_headers,
                    timeout=client_timeout,
                    allow_redirects=False,  # decided here, per request: see _redirect_target
                )
                resp = await ctx.__aenter__()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = _transport_error(exc, operation, method, url_path)
                retryable = _retryable_transport(exc) and (safe or _never_sent(exc))
            else:
                # From here on the response must be released whatever happens.
                try:
                    status = resp.status
                    if 200 <= status < 300 or (ok is not None and ok.get(status)):
                        if expect is not None and 200 <= status < 300:
                            await _check_content(resp, expect, operation=operation, path=url_path)
                        if stream:
                            self._log_response(method, url_path, status, started, None)
                            self.limiter.on_success()
                            yield resp, None
                            return
                        try:
                            body = await resp.read()
                        except (aiohttp.ClientError, TimeoutError) as exc:
                            error = _transport_error(exc, operation, method, url_path)
                            retryable = safe
                        else:
                            self._log_response(method, url_path, status, started, len(body))
                            if 200 <= status < 300:
                                _refuse_error_document(
                                    resp,
                                    body,
                                    dialect,
                                    service=self.dialect.name,
                                    operation=operation,
                                    method=method,
                                    path=url_path,
                                )
                            self.limiter.on_success()
                            yield resp, body
                            return
                    elif status in _REDIRECT_STATUSES:
                        target = self._redirect_target(
                            resp,
                            url,
                            may_redirect=may_redirect,
                            bearer=use_auth,
                            credentials=dialect.auth_endpoint,
                            operation=operation,
                            method=method,
                            path=url_path,
                        )
                        if redirects >= _MAX_REDIRECTS:
                            raise UnsafeRedirectError(
                                location=_printable_url(target),
                                reason=f"more than {_MAX_REDIRECTS} redirects",
                                status=status,
                                operation=operation,
                                method=method,
                                path=url_path,
                                service=self.dialect.name,
                            )
                        redirects += 1
                        url, params = target, None  # the Location carries its own query
                        continue
                    else:
                        try:
                            body = await resp.read()
                        except (aiohttp.ClientError, TimeoutError):
                            body = b""
                        if status == 401 and use_auth and replays < _MAX_REPLAYS and not one_shot:
                            assert self.auth is not None
                            self.auth.invalidate(token)
                            replays += 1
                            log_event(
                                logging.INFO,
                                "http.retry",
                                method=method,
                                path=url_path,
                                reason="401: token refreshed, replaying",
                                attempt=attempt + 1,
                            )
                            continue
                        # The unit is this request's dialect's: a token endpoint speaks seconds even
                        # where the service's API speaks milliseconds.
                        retry_after = parse_retry_after(
                            resp.headers.get("Retry-After"), unit=dialect.retry_after_unit
                        )
                        error = self._api_error(
                            status=status,
                            body=body,
                            resp=resp,
                            dialect=dialect,
                            operation=operation,
                            method=method,
                            path=url_path,
                            retry_after=retry_after,
                        )
                        if status == 429 and rate_limited:
                            # A hint beyond what the policy would wait is raised to this caller, not
                            # imposed on every other request of the client (nor is the 429 of an
                            # endpoint outside the limiter, such as the token endpoint's).
                            too_long = retry_after is not None and retry_after > policy.max_retry_after
                            self.limiter.on_rate_limited(None if too_long else retry_after)
                        retryable = status in policy.retry_statuses and (safe or status == 429)
                finally:
                    await ctx.__aexit__(None, None, None)

            if not retryable or attempt + 1 >= policy.attempts:
                # No chained cause: aiohttp's exceptions hold the request's headers (the bearer).
                raise error from None
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    raise error
                delay = retry_after
            else:
                delay = policy.backoff(attempt, self._rng)
            log_event(
                logging.INFO,
                "http.retry",
                method=method,
                path=url_path,
                operation=operation,
                attempt=attempt + 1,
                delay=round(delay, 3),
                reason=str(error),
            )
            # A 429's Retry-After is already a pause in the limiter (it holds every request of
            # this client, this one included), so waiting here too would wait twice.
            limiter_waits = rate_limited and retry_after is not None and getattr(error, "status", 0) == 429
            if not limiter_waits:
                await self._sleep(delay)
            attempt += 1

    def _log_response(self, method: str, path: str, status: int, started: float, size: int | None) -> None:
        fields: dict[str, Any] = {"method": method, "path": path, "status": status}
        if size is not None:
            fields["bytes"] = size
        fields["seconds"] = round(time.monotonic() - started, 4)
        log_event(logging.DEBUG, "http.response", **fields)

    def _redirect_target(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        *,
        may_redirect: bool,
        bearer: bool,
        credentials: bool,
        operation: str,
        method: str,
        path: str,
    ) -> str:
        """The URL a redirect asks for, when following it sends nothing to anyone it should not.

        Followed: a GET or HEAD without a body; with the bearer only to this
        client's own host (scheme, host and port), without one (a request made
        with ``authenticate=False``) to any http(s) URL. Refused with
        :class:`UnsafeRedirectError`: anything that would re-send a body or
        credentials (token requests, POST/PUT), and a bearer's request to any
        other host.
        """
        location = resp.headers.get("Location", "")
        target = urljoin(url, location) if location else ""
        reason = ""
        if not target:
            reason = "the answer has no Location"
        elif credentials:
            reason = "a request carrying credentials is never redirected"
        elif not may_redirect:
            reason = f"a {method} with a body is never re-sent elsewhere"
        elif urlsplit(target).scheme not in _DEFAULT_PORTS:
            reason = "not an http(s) URL"
        elif bearer and not self.is_own_host(target):
            reason = "another host"
        if reason:
            raise UnsafeRedirectError(
                location=_printable_url(target) if target else "(none)",
                reason=reason,
                status=resp.status,
                operation=operation,
                method=method,
                path=path,
                service=self.dialect.name,
            )
        log_event(logging.INFO, "http.redirect", path=path, to=urlsplit(target).path, status=resp.status)
        return target

    # -- hosts ---------------------------------------------------------------------

    def is_own_host(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) is on this client's service host."""
        return _origin(self.url(url)) == self._origin

    def check_own_host(self, url: str, *, operation: str = "") -> str:
        """``url`` made absolute, or :class:`ForeignHostError` when it points to another host.

        The bearer token goes only to the host the client was configured with:
        a paging link or an answer's URL that points elsewhere is refused.
        """
        absolute = self.url(url)
        if _origin(absolute) != self._origin:
            raise ForeignHostError(
                _printable_url(absolute), expected=_printable_url(self.base_url), operation=operation
            )
        return absolute

    def _api_error(
        self,
        *,
        status: int,
        body: bytes,
        resp: aiohttp.ClientResponse,
        dialect: ServiceDialect,
        operation: str,
        method: str,
        path: str,
        retry_after: float | None,
    ) -> APIError:
        info = dialect.parse_error(body, resp.headers.get("Content-Type", "").lower())
        cls: type[APIError]
        if dialect.auth_endpoint and 400 <= status < 500 and status != 429:
            cls = AuthenticationError
        else:
            cls = api_error_class(status)
        return cls(
            status=status,
            code=info.code,
            service_message=info.message,
            operation=operation,
            method=method,
            path=path,
            service=self.dialect.name,
            details=info.details,
            retry_after=retry_after,
            request_id=resp.headers.get("x-request-id") or resp.headers.get("x-amz-request-id"),
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a malformed port is nobody's origin
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def _printable_url(url: str) -> str:
    """Scheme, host and path: never the query (a presigned URL's signature) or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


async def _check_content(
    resp: aiohttp.ClientResponse, expect: Collection[str], *, operation: str, path: str
) -> None:
    """Refuse a 2xx answer whose type is not one the request asked for, before its bytes are used."""
    received = resp.headers.get("Content-Type", "")
    if media.matches(expect, received):
        return
    try:
        head = await resp.content.read(_EXCERPT_BYTES)
    except (aiohttp.ClientError, TimeoutError):
        head = b""
    raise UnexpectedContentError(
        expected=expect,
        received=media.media_type(received),
        excerpt=media.excerpt(head),
        operation=operation,
        path=path,
        status=resp.status,
    )


def _refuse_error_document(
    resp: aiohttp.ClientResponse,
    body: bytes,
    dialect: ServiceDialect,
    *,
    service: str,
    operation: str,
    method: str,
    path: str,
) -> None:
    """A 2xx whose JSON body is the service's error document is that error, not data."""
    if dialect.error_document is None or not media.is_json(resp.headers.get("Content-Type", "")):
        return
    if b'"error' not in body[:_ERROR_SNIFF_BYTES]:  # cheap test before decoding anything
        return
    info = dialect.error_document(body)
    if info is None:
        return
    cls = AuthenticationError if dialect.auth_endpoint else APIError
    raise cls(
        status=resp.status,
        code=info.code,
        service_message=info.message,
        operation=operation,
        method=method,
        path=path,
        service=service,
        details=info.details,
        request_id=resp.headers.get("x-request-id"),
    )


def _one_shot(payload: Any) -> bool:
    """True for bodies consumed by sending them: async iterators (generators) and file objects.

    A re-iterable body (an object whose ``__aiter__`` starts over each time, as
    the upload sources of the service modules are) can be sent again.
    """
    if payload is None or isinstance(payload, bytes | bytearray | str | aiohttp.FormData):
        return False
    return hasattr(payload, "__anext__") or hasattr(payload, "read")


def _encode_body(json: Any, data: Any) -> tuple[Any, str | None]:
    if json is not None and data is not None:
        raise ValueError("pass either json or data, not both")
    if json is not None:
        return msgspec.json.encode(json), "application/json"
    if isinstance(data, Mapping):
        return aiohttp.FormData(dict(data)), None
    return data, None

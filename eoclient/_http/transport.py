"""The transport: one aiohttp session per client, and the façade every service module calls.

Service modules call :meth:`Transport.request`, :meth:`Transport.request_json`
or :meth:`Transport.stream`; they never touch aiohttp. Each call's keywords
become one frozen :class:`~eoclient._http.options.RequestOptions`, which goes
through the stages of :mod:`eoclient._http.stages` (the usual case in one flat
coroutine, :func:`~eoclient._http.stages.send`, with the same steps): retried by the
:class:`RetryPolicy` on transient failures, redirected only where that is safe,
replayed after a 401 with a fresh token, paced by the rate limiter, sent with
the bearer, and checked — so it comes back as bytes, a typed model or a stream,
or as a typed :mod:`eoclient.errors` exception with the service's code and message.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Final, TypeVar, Unpack, overload
from urllib.parse import urlsplit

import aiohttp
from multidict import CIMultiDictProxy

from eoclient._checks import check_int, check_seconds
from eoclient._http import media
from eoclient._http.auth import TokenProvider
from eoclient._http.dialects import OAUTH, ServiceDialect
from eoclient._http.failures import printable_url, transport_error
from eoclient._http.options import CallOptions, RequestOptions, Timeouts, request_options
from eoclient._http.ratelimit import RateLimit, RateLimiter
from eoclient._http.retry import RetryPolicy
from eoclient._http.stages import Answer, Exchange, Later, pipeline, release, send
from eoclient._http.watchdog import ReadWatchdog, watched_connector
from eoclient._models import from_json
from eoclient._version import __version__
from eoclient.errors import ClientClosedError, ForeignHostError, TransportError

__all__ = ["ConnectionLimits", "Response", "StreamResponse", "Timeouts", "Transport", "canonical_url"]

T = TypeVar("T")
A = TypeVar("A")

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_USER_AGENT: Final = f"eoclient/{__version__}"


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


def _response(resp: aiohttp.ClientResponse, body: bytes, operation: str, _: Any) -> Response:
    """:meth:`Transport.request`'s answer, once the body is read and the connection released."""
    # raw_path: the path as sent (percent-encoded), without formatting and re-parsing the URL.
    return Response(resp.status, resp.headers, body, resp.url.raw_path, operation)


def _decoded(resp: aiohttp.ClientResponse, body: bytes, operation: str, type_: Any) -> Any:
    """:meth:`Transport.request_json`'s answer: the body decoded into ``type_``."""
    return decode_json(body, type_, path=resp.url.raw_path, operation=operation)


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
            error = transport_error(exc, self._operation, self._resp.method, self.path)
        if error is not None:
            # Raised outside the handler, unchained: aiohttp's exception holds the request headers.
            raise error

    async def iter_received(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives: each piece aiohttp received, never joined with others.

        For a caller that passes the bytes on (a file): no join, and each piece
        is freed as soon as it is consumed. Errors as in :meth:`iter_chunks`.
        """
        error: TransportError | None = None
        try:
            async for piece, _ in self._resp.content.iter_chunks():
                if piece:  # an empty piece marks the end of an HTTP chunk
                    yield piece
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = transport_error(exc, self._operation, self._resp.method, self.path)
        if error is not None:
            raise error

    async def read(self) -> bytes:
        """The whole remaining body."""
        parts = [chunk async for chunk in self.iter_chunks()]
        return b"".join(parts)


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
        deployments: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        # Other deployments of the same service (same credentials): public URL -> where we reach it.
        self.deployments: dict[str, str] = {
            canonical_url(public): reached.strip().rstrip("/")
            for public, reached in (deployments or {}).items()
        }
        self._origins = frozenset({self._origin, *(_origin(url) for url in self.deployments.values())})
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
        self._watchdog: ReadWatchdog | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._sleep = asyncio.sleep  # replaced in tests to observe backoff
        self._pipeline = pipeline(self)

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
            # One timer per session keeps every connection's read timeout (not one per read).
            connector, self._watchdog = watched_connector(
                loop,
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
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.close()
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

    def request(
        self, method: str, path: str, *, operation: str, **call: Unpack[CallOptions]
    ) -> Coroutine[Any, Any, Response]:
        """Send a request and buffer its answer (a coroutine: await it).

        ``operation`` names what is being done (``"catalog.search"``) for logs
        and errors; the other keywords are :class:`~eoclient._http.options.CallOptions`.
        An answer of a type ``expect`` does not list (see
        :func:`eoclient._http.media.matches`) raises
        :class:`~eoclient.errors.UnexpectedContentError` before the body is used.
        """
        # Not a coroutine of its own: the request's one coroutine is send()'s (each level of
        # awaiting is paid again on every resumption). The options are settled here, the rest
        # (the session, the host check) when it is awaited.
        opts = request_options(self, method, self.url(path), call, operation=operation, stream=False)
        return send(self, self._pipeline, opts, path, finish=_response)

    def request_json(
        self, method: str, path: str, *, operation: str, type: Any = Any, **call: Unpack[CallOptions]
    ) -> Coroutine[Any, Any, Any]:
        """:meth:`request`, then decode the JSON answer into ``type`` (a non-JSON answer is refused)."""
        call.setdefault("expect", media.JSON)
        opts = request_options(self, method, self.url(path), call, operation=operation, stream=False)
        return send(self, self._pipeline, opts, path, finish=_decoded, arg=type)

    def request_with(
        self,
        make: Callable[[CIMultiDictProxy[str], bytes, str, A], T | Later[T]],
        arg: A,
        method: str,
        path: str,
        *,
        operation: str,
        **call: Unpack[CallOptions],
    ) -> Coroutine[Any, Any, T]:
        """:meth:`request`, its answer ``make(headers, body, path, arg)`` rather than a :class:`Response`.

        ``make`` runs once the body is read and the connection released, in the
        request's own coroutine: a service's result made from the answer without
        a Response in between, nor a coroutine of the service's own to resume.
        What needs awaiting (work in a thread) it returns as a :class:`Later`.
        """
        opts = request_options(self, method, self.url(path), call, operation=operation, stream=False)
        return send(self, self._pipeline, opts, path, make=make, arg=arg)

    def stream(
        self, method: str, path: str, *, operation: str, **call: Unpack[CallOptions]
    ) -> AbstractAsyncContextManager[StreamResponse]:
        """Send a request and read the answer as a stream (keywords as for :meth:`request`).

        Retries cover the request up to the response headers; a body broken
        off later raises :class:`TransportError` from the iterator (resume with
        a ``Range`` header). The connection is released when the block exits,
        however it exits.

        Example::

            async with transport.stream("GET", "/file", operation="byoc.file") as resp:
                async for chunk in resp.iter_chunks():
                    ...
        """
        return _Streaming(self, method, path, operation, call)

    def _send(self, opts: RequestOptions, path: str) -> Coroutine[Any, Any, Answer]:
        """Run ``opts`` through the stages; the answer's response is open (the caller releases it)."""
        coro: Coroutine[Any, Any, Answer] = send(self, self._pipeline, opts, path)
        return coro

    def _exchange(self, opts: RequestOptions, path: str) -> Exchange:
        """A request's :class:`Exchange`, on the session (made now if need be) of the running loop."""
        session = self._session
        if session is None or self._loop is not asyncio.get_running_loop():  # not yet, closed, another loop
            session = self._get_session()
        if opts.authenticate and opts.url == path:  # an absolute URL from the caller (a path is ours)
            self.check_own_host(opts.url, operation=opts.operation)
        return Exchange(opts, session)

    # -- hosts ---------------------------------------------------------------------

    def deployment_url(self, url: str) -> str | None:
        """Where this client reaches the deployment whose public URL is ``url`` (``None``: it does not).

        ``base_url`` for the client's own deployment, the URL the client was
        given for another one (``deployments``), else ``None``.
        """
        key = canonical_url(url)
        if key == canonical_url(self.base_url):
            return self.base_url
        return self.deployments.get(key)

    def is_own_host(self, url: str) -> bool:
        """Whether ``url`` (absolute, or a path) is on this client's host or one of its deployments."""
        return _origin(self.url(url)) in self._origins

    def check_own_host(self, url: str, *, operation: str = "") -> str:
        """``url`` made absolute, or :class:`ForeignHostError` when it points to another host.

        The bearer token goes only to the hosts the client was configured with
        (``base_url`` and its ``deployments``): a paging link or an answer's
        URL that points elsewhere is refused.
        """
        absolute = self.url(url)
        if _origin(absolute) not in self._origins:
            raise ForeignHostError(
                printable_url(absolute), expected=printable_url(self.base_url), operation=operation
            )
        return absolute


class _Streaming:
    """The context of :meth:`Transport.stream`: sends on entry, releases the connection on exit.

    A class rather than ``@asynccontextmanager``: it is entered for every download.
    """

    __slots__ = ("_call", "_resp", "_transport")

    def __init__(
        self, transport: Transport, method: str, path: str, operation: str, call: CallOptions
    ) -> None:
        self._transport = transport
        self._call = (method, path, operation, call)
        self._resp: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> StreamResponse:
        transport = self._transport
        method, path, operation, call = self._call
        opts = request_options(transport, method, transport.url(path), call, operation=operation, stream=True)
        self._resp = resp = (await transport._send(opts, path)).resp
        return StreamResponse(resp, operation=operation, path=resp.url.raw_path)

    async def __aexit__(self, *exc_info: object) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            await release(resp)


@functools.lru_cache(maxsize=256)  # a routed request asks for its collection's deployment each time
def canonical_url(url: str) -> str:
    """``url`` compared as a deployment: scheme and host lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1  # a malformed port is nobody's origin
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)

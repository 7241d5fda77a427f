"""The request path as stages: each does one job and hands the :class:`Exchange` to the next.

:func:`pipeline` composes them, outermost first::

    RetryStage -> RedirectStage -> ReplayStage -> LimiterStage -> BearerStage
        -> ErrorStage -> LogStage -> SendStage

Retries, redirects and 401 replays each go back through the limiter and take
a fresh bearer, as a new request would; the bearer is fetched after the rate
wait, so a long wait never sends a token that expired meanwhile.

A stage's ``send`` returns an :class:`Answer` whose response is still open
(a stream is handed back before its body is read) or raises: :class:`Failed`
for what :class:`RetryStage` may try again, the public error for anything else.
A stage that drops a response (a redirect followed, an error raised) releases
it first; the final answer is released by the transport's façade.

The stages read the transport's limiter, token provider, session and sleep when
a request runs, not when they are built: tests swap those on a live client.

:func:`send` is how a request enters: the usual exchange (no debug logging, an
accepted 2xx of the expected type on the first try) runs as one flat coroutine
down to aiohttp, taking the steps the stages take (:func:`acquire`, :func:`bear`,
:func:`exchange`'s send and read, :func:`check_accepted`). Anything else (an
error status, a redirect, a 401, a transport failure) hands the hop's outcome
to the stages as :attr:`Exchange.pending` (an answer of another status or type
through :func:`received`, as :func:`exchange` takes it), and they carry on from
there as if they had sent it: the stages remain the one definition of what
happens when something goes wrong.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from eoclient._http import media
from eoclient._http.failures import (
    ERROR_MARK,
    ERROR_SNIFF_BYTES,
    Failed,
    api_error,
    never_sent,
    printable_url,
    refuse_error_document,
    transient,
    transport_error,
    unexpected_content,
)
from eoclient._http.options import RequestOptions
from eoclient._http.retry import parse_retry_after
from eoclient._log import log_enabled, log_event
from eoclient.errors import ClientRateLimitError, TransportError, UnexpectedContentError, UnsafeRedirectError

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Callable

    from eoclient._http.auth import TokenProvider
    from eoclient._http.ratelimit import RateLimiter

__all__ = ["Answer", "Exchange", "Later", "Stage", "pipeline", "release", "send"]

T = TypeVar("T")

REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 5
# A token revoked twice within one call (a rotation racing a revocation) is still survivable; a
# third 401 in a row means the credentials themselves are refused.
_MAX_REPLAYS: Final = 2
_HTTP_SCHEMES: Final = frozenset({"http", "https"})
# ClientSession._request: the coroutine session.request() wraps (private to aiohttp; looked up on the
# session at each call, as test doubles patch it). Without it, the public wrapper: the same request.
_DIRECT: Final = inspect.iscoroutinefunction(getattr(aiohttp.ClientSession, "_request", None))


@functools.lru_cache(maxsize=1024)  # a client asks for the same few URLs (a job's polls, the Process API)
def _url_path(url: str) -> str:
    """``urlsplit(url).path``, found by three scans: job polls and downloads each have their own URL."""
    host = url.find("://")
    if host < 0:
        return urlsplit(url).path
    host += 3
    end = len(url)
    for mark in "?#":
        at = url.find(mark, host)
        if 0 <= at < end:
            end = at
    start = url.find("/", host, end)
    return url[start:end] if start >= 0 else ""


class Exchange:
    """Where one request is now: its options, the URL of this hop, and the counts so far.

    Created once per call; the stages move it along (a redirect changes the
    URL, the bearer stage sets the headers). The counts span the whole call.
    """

    __slots__ = (
        "attempt",
        "headers",
        "opts",
        "params",
        "path",
        "pending",
        "redirects",
        "replays",
        "session",
        "ticket",
        "token",
        "url",
    )

    def __init__(self, opts: RequestOptions, session: aiohttp.ClientSession) -> None:
        self.opts = opts
        self.session = session
        self.token: str | None = None  # the bearer this hop carries, to invalidate after a 401
        self.ticket = 0  # the rate limiter's number for this hop (0: none), for a 429 to say when it left
        self.url = opts.url
        self.path = _url_path(opts.url)
        self.params = opts.params
        self.headers: Mapping[str, str] = opts.headers
        self.attempt = 0  # retries consumed
        self.replays = 0  # replays after a 401 with a refreshed token
        self.redirects = 0
        # The outcome of a hop already sent by the flat path (see send()), for the stages to take up.
        self.pending: Answer | Failed | None = None

    def where(self) -> dict[str, Any]:
        """What a log line about this hop says: method, path, operation, attempt (from 1)."""
        opts = self.opts
        return {
            "method": opts.method,
            "path": self.path,
            "operation": opts.operation,
            "attempt": self.attempt + 1,
        }


class Answer:
    """An open response, its body when buffered, and whether the request accepts its status."""

    __slots__ = ("accepted", "body", "resp")

    def __init__(self, resp: aiohttp.ClientResponse, body: bytes | None, accepted: bool) -> None:
        self.resp = resp
        self.body = body
        self.accepted = accepted


class Later(Generic[T]):
    """What a ``finish`` or ``make`` of :func:`send` returns when its result needs awaiting (off the loop).

    :func:`send` awaits ``awaitable`` and returns its result, in the request's own coroutine.
    """

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[T]) -> None:
        self.awaitable = awaitable


async def release(resp: aiohttp.ClientResponse) -> None:
    """Give the connection back (what leaving ``async with session.request(...)`` does)."""
    resp.release()
    await resp.wait_for_close()


class Host(Protocol):
    """What the stages read from the transport that owns them, when a request runs."""

    limiter: RateLimiter
    auth: TokenProvider | None
    _rng: random.Random

    async def _sleep(self, seconds: float, /) -> None: ...

    async def _token_call(
        self, url: str, form: Mapping[str, str] | None, body: Mapping[str, str] | None
    ) -> Any: ...

    def is_own_host(self, url: str) -> bool: ...

    def _exchange(self, opts: RequestOptions, path: str) -> Exchange: ...


class Stage:
    """One concern of the request path; ``next`` is the stage it hands the exchange to."""

    __slots__ = ("next", "transport")

    def __init__(self, transport: Host, next: Stage | None) -> None:
        self.transport = transport
        self.next: Stage = next if next is not None else self  # the innermost stage sends: no next

    async def send(self, x: Exchange) -> Answer:
        raise NotImplementedError


def pipeline(transport: Host) -> Stage:
    """The stages of one transport, composed: the one place their order is decided."""
    stage: Stage | None = None
    outermost_first = (
        RetryStage,
        RedirectStage,
        ReplayStage,
        LimiterStage,
        BearerStage,
        ErrorStage,
        LogStage,
        SendStage,
    )
    for cls in reversed(outermost_first):
        stage = cls(transport, stage)
    assert stage is not None
    return stage


class RetryStage(Stage):
    """Tries again after a :class:`Failed` the policy allows, waiting the backoff or ``Retry-After``."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        opts = x.opts
        policy = opts.retry
        while True:
            try:
                return await self.next.send(x)
            except Failed as exc:
                failed = exc
            # Raised outside the handler: no chained cause (aiohttp's exceptions hold the bearer).
            error = failed.error
            status = failed.status
            retryable = failed.resendable and (status is None or status in policy.retry_statuses)
            if not retryable or x.attempt + 1 >= policy.attempts:
                raise error from None
            retry_after = failed.retry_after
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    raise error from None
                delay = retry_after
            else:
                delay = policy.backoff(x.attempt, self.transport._rng)
            log_event(
                logging.INFO,
                "http.retry",
                **x.where(),
                delay=round(delay, 3),
                reason=str(error),
            )
            # A 429's Retry-After is already a pause in the limiter (it holds every request of
            # this client, this one included), so waiting here too would wait twice.
            if not (opts.rate_limited and retry_after is not None and status == 429):
                await self.transport._sleep(delay)
            x.attempt += 1


class RedirectStage(Stage):
    """Follows a redirect when that sends nothing to anyone it should not (see :meth:`_target`)."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        while True:
            answer = await self.next.send(x)
            if answer.accepted or answer.resp.status not in REDIRECT_STATUSES:
                return answer
            try:
                target = self._target(answer.resp, x)
            finally:
                await release(answer.resp)
            x.redirects += 1
            x.url, x.params = target, None  # the Location carries its own query
            x.path = urlsplit(target).path

    def _target(self, resp: aiohttp.ClientResponse, x: Exchange) -> str:
        """The URL a redirect asks for, when following it sends nothing to anyone it should not.

        Followed: a GET or HEAD without a body; with the bearer only to this
        client's own host (scheme, host and port), without one (a request made
        with ``authenticate=False``) to any http(s) URL. Refused with
        :class:`UnsafeRedirectError`: anything that would re-send a body or
        credentials (token requests, POST/PUT), a bearer's request to any other
        host, and a chain of more than five redirects.
        """
        opts = x.opts
        location = resp.headers.get("Location", "")
        target = urljoin(x.url, location) if location else ""
        reason = ""
        if not target:
            reason = "the answer has no Location"
        elif opts.dialect.auth_endpoint:
            reason = "a request carrying credentials is never redirected"
        elif not opts.may_redirect:
            reason = f"a {opts.method} with a body is never re-sent elsewhere"
        elif urlsplit(target).scheme not in _HTTP_SCHEMES:
            reason = "not an http(s) URL"
        elif opts.authenticate and not self.transport.is_own_host(target):
            reason = "another host"
        elif x.redirects >= _MAX_REDIRECTS:
            reason = f"more than {_MAX_REDIRECTS} redirects"
        if reason:
            raise UnsafeRedirectError(
                location=printable_url(target) if target else "(none)",
                reason=reason,
                status=resp.status,
                **opts.error_context(x.path),
            )
        log_event(logging.INFO, "http.redirect", path=x.path, to=urlsplit(target).path, status=resp.status)
        return target


class ReplayStage(Stage):
    """After a 401, drops the refused token and sends the request again (twice at most)."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        opts = x.opts
        auth = self.transport.auth
        if not opts.authenticate or auth is None or opts.one_shot:
            return await self.next.send(x)
        while True:
            try:
                return await self.next.send(x)
            except Failed as exc:
                if exc.status != 401 or x.replays >= _MAX_REPLAYS:
                    raise
            auth.invalidate(x.token)
            x.replays += 1
            log_event(logging.INFO, "http.retry", **x.where(), reason="401: token refreshed, replaying")


class BearerStage(Stage):
    """Puts the current token on the request, fetched just before it is sent (after any rate wait)."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        auth = self.transport.auth
        if x.opts.authenticate and auth is not None and x.pending is None:  # a pending hop has its bearer
            await bear(x, auth, self.transport)
        return await self.next.send(x)


async def bear(x: Exchange, auth: TokenProvider, host: Host) -> None:
    """Give this hop the current bearer (fetched if the cached one is missing or about to lapse)."""
    wear(x, await auth.token(host._token_call))


def wear(x: Exchange, token: str) -> None:
    """Put ``token`` on this hop (and remember it: a 401 invalidates exactly that one)."""
    x.token = token
    own = x.opts.headers
    if type(own) is MappingProxyType:  # read-only, kept by its maker: the same headers every request
        memo = _WORN.get(id(own))
        if memo is not None and memo[0] is own and memo[1] == token:
            x.headers = memo[2]
            return
        # aiohttp takes a multidict as it is (any other mapping is made into one first, every request).
        worn: Mapping[str, str] = CIMultiDictProxy(CIMultiDict({**own, "Authorization": f"Bearer {token}"}))
        if len(_WORN) >= _WORN_MAX:
            _WORN.clear()
        # The mapping itself is held: its id is not reused while it is in here.
        _WORN[id(own)] = (own, token, worn)
        x.headers = worn
        return
    x.headers = {**own, "Authorization": f"Bearer {token}"}


# Read-only request headers with a bearer on, by the id of the headers: (headers, token, worn).
_WORN: dict[int, tuple[Mapping[str, str], str, Mapping[str, str]]] = {}
_WORN_MAX: Final = 64


class LimiterStage(Stage):
    """Waits for the client's rate limiter before sending, and tells it how the service answered."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        opts = x.opts
        limiter = self.transport.limiter
        if not opts.rate_limited:
            answer = await self.next.send(x)
            if answer.accepted:  # as before the stages: any success refreshes the pace
                limiter.on_success()
            return answer
        if x.pending is None:  # a pending hop waited before it was sent
            x.ticket = limiter.try_acquire() or await acquire(limiter, x)
        try:
            answer = await self.next.send(x)
        except Failed as exc:
            if exc.status == 429:
                # A hint beyond what the policy would wait is raised to this caller, not imposed on
                # every other request of the client.
                too_long = exc.retry_after is not None and exc.retry_after > opts.retry.max_retry_after
                limiter.on_rate_limited(None if too_long else exc.retry_after, x.ticket or None)
            raise
        if answer.accepted:
            limiter.on_success()
        return answer


async def acquire(limiter: RateLimiter, x: Exchange) -> int:
    """Wait for the limiter: this hop's ticket; a wait it refuses names this request (nothing was sent)."""
    try:
        return await limiter.acquire()
    except ClientRateLimitError as exc:
        raise ClientRateLimitError(
            retry_after=exc.retry_after,
            service_message=exc.service_message,
            **x.opts.error_context(x.path),
        ) from None


class ErrorStage(Stage):
    """Turns an error status, or an error document inside a 2xx, into the service's typed error."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        answer = await self.next.send(x)
        resp = answer.resp
        if answer.accepted:
            try:
                check_accepted(answer, x)
            except BaseException:
                await release(resp)
                raise
            return answer
        if resp.status in REDIRECT_STATUSES:
            return answer
        await release(resp)
        raise self._failed(x, resp, answer.body or b"")

    @staticmethod
    def _failed(x: Exchange, resp: aiohttp.ClientResponse, body: bytes) -> Failed:
        opts = x.opts
        # The unit is this request's dialect's: a token endpoint speaks seconds even where the
        # service's API speaks milliseconds.
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), unit=opts.dialect.retry_after_unit)
        error = api_error(resp, body, opts, path=x.path, retry_after=retry_after)
        status = resp.status
        resendable = opts.idempotent or status == 429  # a 429 says the service did nothing
        return Failed(error, status=status, resendable=resendable, retry_after=retry_after)


def check_accepted(answer: Answer, x: Exchange) -> None:
    """Refuse an accepted 2xx whose body is the dialect's error document (the caller releases it)."""
    opts = x.opts
    if answer.body is None or opts.dialect.error_document is None or not 200 <= answer.resp.status < 300:
        return
    refuse_error_document(answer.resp, answer.body, opts, path=x.path)


class LogStage(Stage):
    """Logs each request sent and each answer the request accepts (debug level)."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        if not log_enabled(logging.DEBUG):  # the usual case: no event to build, nothing to time
            return await self.next.send(x)
        opts = x.opts
        log_event(logging.DEBUG, "http.request", **x.where())
        started = time.monotonic()
        answer = await self.next.send(x)
        if answer.accepted:
            fields: dict[str, Any] = {"method": opts.method, "path": x.path, "status": answer.resp.status}
            if answer.body is not None:
                fields["bytes"] = len(answer.body)
            fields["seconds"] = round(time.monotonic() - started, 4)
            log_event(logging.DEBUG, "http.response", **fields)
        return answer


class SendStage(Stage):
    """The one stage that talks to aiohttp (through :func:`exchange`), or takes up a pending hop."""

    __slots__ = ()

    async def send(self, x: Exchange) -> Answer:
        pending = x.pending
        if pending is None:
            return await exchange(x)
        x.pending = None
        if isinstance(pending, Failed):
            raise pending
        return pending


async def exchange(x: Exchange) -> Answer:
    """Send this hop; refuse a 2xx of an unexpected type; read the body (unless streaming).

    A broken connection is a :class:`Failed`; an answer the request does not
    accept comes back with its body (the error's explanation) for the stages.
    """
    try:
        resp = await hop(x)
    except (aiohttp.ClientError, TimeoutError) as exc:
        failed = unsent(x, exc)
    else:
        return await received(x, resp)
    # Raised outside the handler, unchained: aiohttp's exception holds the request headers.
    raise failed


def hop(x: Exchange) -> Awaitable[aiohttp.ClientResponse]:
    """This hop's request, for the caller to await (a plain function: no coroutine level of its own).

    aiohttp's request coroutine itself where this aiohttp has it: ``session.request()`` wraps it in a
    context manager, awaited through one more object per request (what a waiting request holds).
    """
    opts = x.opts
    session = x.session
    return (session._request if _DIRECT else session.request)(
        opts.method,
        x.url,
        params=x.params,
        data=opts.payload,
        headers=x.headers,
        timeout=opts.timeout,
        allow_redirects=False,  # decided per request by RedirectStage
    )


def unsent(x: Exchange, exc: BaseException) -> Failed:
    """The :class:`Failed` for a hop whose request broke before an answer came."""
    opts = x.opts
    error = transport_error(exc, opts.operation, opts.method, x.path)
    return Failed(error, status=None, resendable=transient(exc) and (opts.idempotent or never_sent(exc)))


async def received(x: Exchange, resp: aiohttp.ClientResponse) -> Answer:
    """The rest of :func:`exchange` once the answer's head is in: its status, its type, its body.

    An answer the request does not accept comes back with its body (the
    error's explanation); a 2xx of a type ``expect`` does not list raises
    :class:`UnexpectedContentError`; a body broken off is a :class:`Failed`.
    The response is released on every way out but the answer handed back.
    """
    opts = x.opts
    refused: UnexpectedContentError | None = None
    error: TransportError | None = None
    try:
        status = resp.status
        if not (200 <= status < 300 or opts.accepts(status)):  # the usual 2xx without a call
            body = None
            if status not in REDIRECT_STATUSES:
                try:  # an error's body is only its explanation: a broken one is no worse than none
                    body = await resp.read()
                except (aiohttp.ClientError, TimeoutError):
                    body = b""
            return Answer(resp, body, False)
        expect = opts.expect
        if (
            expect is not None
            and 200 <= status < 300
            and not media.matches(expect, resp.headers.get("Content-Type", ""))
        ):
            refused = await unexpected_content(resp, expect, operation=opts.operation, path=x.path)
        elif opts.stream:
            return Answer(resp, None, True)
        else:
            try:
                return Answer(resp, await resp.read(), True)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = transport_error(exc, opts.operation, opts.method, x.path)
    except BaseException:
        await release(resp)
        raise
    await release(resp)
    if refused is not None:  # no retry can change what the service sends
        raise refused
    assert error is not None
    raise Failed(error, status=None, resendable=opts.idempotent)


async def cut_off(x: Exchange, resp: aiohttp.ClientResponse, exc: BaseException) -> Failed:
    """The :class:`Failed` for a body broken off while read (:func:`received`'s); releases ``resp``."""
    await release(resp)
    opts = x.opts
    error = transport_error(exc, opts.operation, opts.method, x.path)
    return Failed(error, status=None, resendable=opts.idempotent)


async def send(  # noqa: PLR0915 - one coroutine on purpose: a helper would be a level to resume
    host: Host,
    stages: Stage,
    opts: RequestOptions,
    path: str,
    *,
    finish: Callable[[aiohttp.ClientResponse, bytes, str, Any], Any] | None = None,
    make: Callable[[CIMultiDictProxy[str], bytes, str, Any], Any] | None = None,
    arg: Any = None,
) -> Any:
    """Run one request: flat when it goes as usual, through ``stages`` from the first thing that does not.

    The flat path takes the steps the stages take for a first hop answered as
    accepted (rate wait, bearer, send, type check, body, error-document check,
    pace refresh) in this one coroutine, down to aiohttp: every level of
    awaiting is paid again on each resumption of the request. An outcome the
    stages would act on (an answer not accepted, a :class:`Failed`) is handed
    to them as ``x.pending`` instead of being sent again. With debug logging
    on, the stages run from the start (they log).

    Without ``finish`` or ``make`` the answer comes back open (a stream: the
    caller releases it). With one, the body is read, the connection goes back
    to the pool and ``finish(resp, body, operation, arg)`` is returned, or
    ``make(headers, body, path, arg)`` (``path``: as sent); a :class:`Later`
    either returns is awaited first.
    """
    x = host._exchange(opts, path)
    answer: Answer | Failed
    if log_enabled(logging.DEBUG):
        answer = await stages.send(x)
    else:
        limiter = host.limiter
        if opts.rate_limited:
            x.ticket = limiter.try_acquire() or await acquire(limiter, x)
        auth = host.auth
        if opts.authenticate and auth is not None:
            token = auth.cached()  # fresh: nothing to await
            if token is None:
                await bear(x, auth, host)
            else:
                wear(x, token)
        # exchange(), inlined for the usual 2xx of the expected type; anything else is received()'s.
        try:
            resp = await hop(x)
        except (aiohttp.ClientError, TimeoutError) as exc:
            answer = unsent(x, exc)
        else:
            status = resp.status
            expect = opts.expect
            if not 200 <= status < 300 or (
                expect is not None and not media.matches(expect, resp.headers.get("Content-Type", ""))
            ):
                try:
                    answer = await received(x, resp)
                except Failed as exc:
                    answer = exc
            elif opts.stream:
                answer = Answer(resp, None, True)
            else:
                try:
                    answer = Answer(resp, await resp.read(), True)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    answer = await cut_off(x, resp, exc)
                except BaseException:
                    await release(resp)
                    raise
        # Handed over outside the handlers: an error the stages raise chains nothing (aiohttp's hold
        # the bearer).
        if isinstance(answer, Failed) or not answer.accepted:
            x.pending = answer
            answer = await stages.send(x)
        else:
            body = answer.body
            # refuse_error_document's own sniff, before any call: nearly every body is data.
            if body is not None and body.find(ERROR_MARK, 0, ERROR_SNIFF_BYTES) >= 0:
                try:
                    check_accepted(answer, x)
                except BaseException:
                    await release(answer.resp)
                    raise
            limiter.on_success()
    if finish is None and make is None:
        return answer
    resp, body = answer.resp, answer.body
    # The body is read: the connection goes back to the pool (release(), inlined: every call).
    resp.release()
    await resp.wait_for_close()
    assert body is not None
    if make is not None:  # a service's result, made from the answer: no Response, no pair to pack
        made = make(resp.headers, body, resp.url.raw_path, arg)
    else:
        assert finish is not None
        made = finish(resp, body, opts.operation, arg)
    if type(made) is Later:
        return await made.awaitable
    return made

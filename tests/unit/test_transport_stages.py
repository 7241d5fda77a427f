"""The request path's composition: options resolved once, stage order, errors left unchained."""

from __future__ import annotations

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from eoclient._http import stages
from eoclient._http.dialects import OAUTH, SENTINELHUB
from eoclient._http.options import Timeouts, request_options
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient.errors import ServerError, TransportError
from tests.unit.test_transport import BASE, TOKEN_URL, make_transport, token_reply


class RecordingLimiter:
    """Stands in for the client's RateLimiter: records when it is asked and told."""

    def __init__(self, events: list[str], *, paced: bool = False) -> None:
        self.events = events
        self.paced = paced  # every request awaits acquire(), as under a pace
        self.tickets = 0

    def try_acquire(self) -> int:
        if self.paced:
            return 0
        self.events.append("acquire")
        self.tickets += 1
        return self.tickets

    async def acquire(self) -> int:
        self.events.append("acquire")
        self.tickets += 1
        return self.tickets

    def on_success(self) -> None:
        self.events.append("success")

    def on_rate_limited(self, retry_after: float | None, ticket: int | None = None) -> None:
        self.events.append(f"429:{retry_after}" if ticket is None else f"429:{retry_after}:ticket {ticket}")


def test_options_resolve_the_call_against_the_client_once() -> None:
    policy = RetryPolicy(attempts=7)
    t = Transport(base_url=BASE, dialect=SENTINELHUB, retry=policy)

    opts = request_options(t, "post", f"{BASE}/x", {"json": {"a": 1}}, operation="op", stream=False)
    assert opts.method == "POST" and not opts.idempotent and not opts.may_redirect
    assert opts.headers == {"Content-Type": "application/json"} and opts.payload == b'{"a":1}'
    assert opts.retry is policy and opts.dialect is SENTINELHUB and opts.service == "sentinelhub"
    assert not opts.authenticate  # no token provider: nothing to authenticate with
    assert opts.timeout is t.timeouts.client_timeout()  # built once, with the Timeouts

    async def upload():
        yield b"x"

    per_call = {"data": upload(), "dialect": OAUTH, "timeout": Timeouts(read=5)}
    one_shot = request_options(t, "PUT", f"{BASE}/x", per_call, operation="op", stream=True)
    assert one_shot.one_shot and one_shot.retry.attempts == 1 and one_shot.idempotent
    # The request's dialect speaks for its errors; the service named is still the client's.
    assert one_shot.dialect is OAUTH and one_shot.service == "sentinelhub"
    assert one_shot.timeout.total is None and one_shot.timeout.sock_read == 5  # a stream: connect, read only


async def test_the_bearer_is_fetched_after_the_rate_wait_and_again_on_each_retry(sleeps) -> None:
    events: list[str] = []
    t = make_transport(SENTINELHUB, sleeps)
    t.limiter = RecordingLimiter(events)  # type: ignore[assignment]

    def token(url, **kwargs):
        events.append("token")
        return CallbackResult(status=200, payload=token_reply())

    def thing(status: int):
        def reply(url, **kwargs):
            events.append(f"GET {status} {kwargs['headers']['Authorization']}")
            return CallbackResult(status=status, payload={"ok": status == 200})

        return reply

    try:
        with aioresponses() as m:
            m.post(TOKEN_URL, callback=token)
            m.get(f"{BASE}/thing", callback=thing(503))
            m.get(f"{BASE}/thing", callback=thing(200))
            assert await t.request_json("GET", "/thing", operation="thing") == {"ok": True}
    finally:
        await t.aclose()
    # The token endpoint does not wait for the limiter (its success still refreshes the pace);
    # a retry waits for the limiter again and carries the bearer.
    assert events == [
        "acquire",
        "token",
        "success",
        "GET 503 Bearer tok-1",
        "acquire",
        "GET 200 Bearer tok-1",
        "success",
    ]
    assert len(sleeps.calls) == 1


@pytest.mark.parametrize("paced", [False, True], ids=["at-once", "awaited"])
async def test_a_429_tells_the_limiter_the_ticket_of_the_request_it_answers(sleeps, paced: bool) -> None:
    # The limiter skips the halving for a 429 to a request sent before its last slowdown: it must
    # hear which request was refused, from the flat path and from the stages alike.
    events: list[str] = []
    t = make_transport(SENTINELHUB, sleeps)
    t.limiter = RecordingLimiter(events, paced=paced)  # type: ignore[assignment]
    try:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply())
            m.get(f"{BASE}/thing", status=429, payload={"error": {"status": 429, "reason": "slow"}})
            m.get(f"{BASE}/thing", status=429, payload={"error": {"status": 429, "reason": "slow"}})
            m.get(f"{BASE}/thing", status=200, payload={"ok": True})
            assert await t.request_json("GET", "/thing", operation="thing") == {"ok": True}
    finally:
        await t.aclose()
    # Each try waits for the limiter again and gets its own ticket; the third, answered 200, has 3.
    assert [e for e in events if e.startswith("429")] == ["429:None:ticket 1", "429:None:ticket 2"]


@pytest.mark.parametrize("direct", [True, False], ids=["aiohttp-request-coroutine", "public-request"])
async def test_a_hop_goes_through_aiohttp_with_or_without_its_request_coroutine(
    sleeps, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The transport awaits ClientSession._request (private) when aiohttp has it, else session.request():
    # both must send the same request and take up a retry the same way.
    monkeypatch.setattr(stages, "_DIRECT", direct)
    t = make_transport(SENTINELHUB, sleeps)
    try:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply())
            m.get(f"{BASE}/thing", status=503, payload={"error": {"status": 503, "reason": "busy"}})
            m.get(f"{BASE}/thing", status=200, payload={"ok": True})
            assert await t.request_json("GET", "/thing", operation="thing") == {"ok": True}
    finally:
        await t.aclose()
    assert len(m.requests[("GET", URL(f"{BASE}/thing"))]) == 2  # the 503, then the retry


async def test_errors_raised_after_retries_carry_no_aiohttp_exception(transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/down", exception=aiohttp.ServerDisconnectedError(), repeat=True)
        m.get(f"{BASE}/busy", status=503, repeat=True)
        with pytest.raises(TransportError) as broken:
            await transport.request("GET", "/down", operation="down")
        with pytest.raises(ServerError) as busy:
            await transport.request("GET", "/busy", operation="busy")
    for info in (broken, busy):
        assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.fixture
async def transport(sleeps):
    t = make_transport(SENTINELHUB, sleeps)
    yield t
    await t.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "https://services.sentinel-hub.com/api/v1/process",
        "http://127.0.0.1:8080/api/v2/batch/process/0f3c?x=1&y=/z",
        "http://h:1/a/b#frag/ment",
        "http://h?q=/not/a/path",
        "http://h#f/x",
        "http://h",
        "http://h/",
        "http://user:pw@h:8/p%20q/r;s",
        "https://[::1]:9000/bucket/key.tif?X-Amz-Signature=abc",
        "/relative/path?q",
        "",
    ],
)
def test_the_path_of_a_hop_is_what_urlsplit_says(url: str) -> None:
    from urllib.parse import urlsplit

    from eoclient._http.stages import _url_path

    assert _url_path(url) == urlsplit(url).path

"""Transport core against aioresponses: retries, Retry-After, 401 replay, error mapping."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from eoclient._http.auth import ClientCredentialsAuth
from eoclient._http.dialects import SENTINELHUB, SPACEKNOW, ServiceDialect
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import Transport
from eoclient._redact import Secret
from eoclient.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TransportError,
)

BASE = "https://sh.test"
TOKEN_URL = "https://auth.test/token"
SECRET = "s3cr3t-client-secret-value"


def token_reply(value: str = "tok-1", expires_in: int = 3600) -> dict[str, object]:
    return {"access_token": value, "expires_in": expires_in, "token_type": "Bearer"}


@pytest.fixture
async def transport(sleeps) -> AsyncIterator[Transport]:
    t = make_transport(SENTINELHUB, sleeps)
    yield t
    await t.aclose()


def make_transport(dialect: ServiceDialect, sleeps, **kw) -> Transport:
    auth = ClientCredentialsAuth("cid", Secret(SECRET), TOKEN_URL)
    t = Transport(
        base_url=BASE,
        dialect=dialect,
        auth=auth,
        retry=kw.pop("retry", RetryPolicy(attempts=4, initial_backoff=0.1, max_backoff=1.0)),
        **kw,
    )
    t._sleep = sleeps
    return t


def sh_error(status: int, code: str, message: str) -> dict[str, object]:
    return {"error": {"status": status, "reason": "x", "message": message, "code": code}}


async def test_get_json_with_bearer(transport: Transport) -> None:
    seen: list[str] = []

    def cb(url, **kwargs):
        seen.append(kwargs["headers"]["Authorization"])
        return CallbackResult(status=200, payload={"ok": True})

    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/api/v1/thing", callback=cb)
        data = await transport.request_json("GET", "/api/v1/thing", operation="thing.get")
    assert data == {"ok": True}
    assert seen == ["Bearer tok-1"]


async def test_retries_5xx_with_backoff_then_succeeds(transport: Transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=503, payload=sh_error(503, "UNAVAILABLE", "busy"))
        m.get(f"{BASE}/x", status=502, body="<html><title>502 Bad Gateway</title></html>")
        m.get(f"{BASE}/x", status=200, payload={"n": 1})
        data = await transport.request_json("GET", "/x", operation="x")
    assert data == {"n": 1}
    assert len(sleeps.calls) == 2
    # full jitter within the exponential ceiling: 0.1, then 0.2
    assert 0 <= sleeps.calls[0] <= 0.1
    assert 0 <= sleeps.calls[1] <= 0.2


async def test_gives_up_after_attempts_with_typed_error(transport: Transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        for _ in range(4):
            m.get(f"{BASE}/x", status=500, payload=sh_error(500, "RENDERER_EXCEPTION", "boom"))
        with pytest.raises(ServerError) as info:
            await transport.request("GET", "/x", operation="x.get")
    err = info.value
    assert err.status == 500
    assert err.code == "RENDERER_EXCEPTION"
    assert err.service_message == "boom"
    assert err.operation == "x.get"
    assert err.path == "/x"
    assert len(sleeps.calls) == 3


async def test_retry_after_in_milliseconds_for_sentinelhub(transport: Transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=429, headers={"Retry-After": "1500"}, payload=sh_error(429, "RATE", "slow"))
        m.get(f"{BASE}/x", status=200, payload={})
        await transport.request("GET", "/x", operation="x")
    assert sleeps.calls == [pytest.approx(1.5, abs=0.05)]  # one wait, not two


async def test_retry_after_in_seconds_for_spaceknow(sleeps) -> None:
    t = make_transport(SPACEKNOW, sleeps)
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(
            f"{BASE}/x",
            status=429,
            headers={"Retry-After": "2"},
            payload={"error": "RATE-LIMIT", "errorMessage": "slow"},
        )
        m.post(f"{BASE}/x", status=200, payload={})
        await t.request("POST", "/x", operation="x", json={})
    await t.aclose()
    assert sleeps.calls == [pytest.approx(2.0, abs=0.05)]


async def test_retry_after_http_date(transport: Transport, sleeps) -> None:
    import time
    from email.utils import formatdate

    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=503, headers={"Retry-After": formatdate(time.time() + 30, usegmt=True)})
        m.get(f"{BASE}/x", status=200, payload={})
        await transport.request("GET", "/x", operation="x")
    assert 25 <= sleeps.calls[0] <= 31


async def test_missing_retry_after_falls_back_to_backoff(transport: Transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=429)
        m.get(f"{BASE}/x", status=200, payload={})
        await transport.request("GET", "/x", operation="x")
    assert len(sleeps.calls) == 1
    assert sleeps.calls[0] <= 0.1  # backoff, not a fixed 30 s


async def test_retry_after_longer_than_allowed_raises_rate_limit(sleeps) -> None:
    t = make_transport(SENTINELHUB, sleeps, retry=RetryPolicy(attempts=3, max_retry_after=10))
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=429, headers={"Retry-After": "60000"})
        with pytest.raises(RateLimitError) as info:
            await t.request("GET", "/x", operation="x")
    await t.aclose()
    assert info.value.retry_after == pytest.approx(60.0)
    assert sleeps.calls == []


async def test_post_that_creates_is_not_retried_after_reaching_server(transport: Transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(f"{BASE}/create", status=500, payload=sh_error(500, "X", "partial"))
        m.post(f"{BASE}/create", status=200, payload={})
        with pytest.raises(ServerError):
            await transport.request("POST", "/create", operation="create", json={"a": 1})
    assert sleeps.calls == []


async def test_post_that_creates_is_not_retried_after_a_broken_connection(transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(f"{BASE}/create", exception=aiohttp.ServerDisconnectedError())
        with pytest.raises(TransportError):
            await transport.request("POST", "/create", operation="create", json={})
    assert sleeps.calls == []


async def test_post_that_creates_is_retried_when_never_sent_or_429(transport, sleeps) -> None:
    conn_key = aiohttp.client_reqrep.ConnectionKey("sh.test", 443, True, True, None, None, None)
    refused = aiohttp.ClientConnectorError(conn_key, OSError(111, "Connection refused"))
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(f"{BASE}/create", exception=refused)
        m.post(f"{BASE}/create", status=429, headers={"Retry-After": "10"})
        m.post(f"{BASE}/create", status=201, payload={"id": "1"})
        data = await transport.request_json("POST", "/create", operation="create", json={})
    assert data == {"id": "1"}
    assert len(sleeps.calls) == 2


async def test_idempotent_post_is_retried(transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(f"{BASE}/search", exception=aiohttp.ServerDisconnectedError())
        m.post(f"{BASE}/search", status=504)
        m.post(f"{BASE}/search", status=200, payload={"features": []})
        data = await transport.request_json("POST", "/search", operation="search", json={}, idempotent=True)
    assert data == {"features": []}
    assert len(sleeps.calls) == 2


async def test_connection_errors_become_transport_error(transport, sleeps) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        for _ in range(4):
            m.get(f"{BASE}/x", exception=aiohttp.ClientOSError(104, "reset"))
        with pytest.raises(TransportError) as info:
            await transport.request("GET", "/x", operation="x.get")
    assert "x.get" in str(info.value)
    # Named, not chained: aiohttp's exceptions carry the request headers (the bearer).
    assert info.value.cause_type == "ClientOSError"
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_timeout_becomes_typed_timeout(transport, sleeps) -> None:
    from eoclient.errors import TimeoutError as EOTimeout

    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        for _ in range(4):
            m.get(f"{BASE}/x", exception=TimeoutError())
        with pytest.raises(EOTimeout):
            await transport.request("GET", "/x", operation="x")


async def test_401_triggers_one_refresh_and_one_replay(transport) -> None:
    tokens = iter(["tok-1", "tok-2"])
    auth_seen: list[str] = []

    def token_cb(url, **kwargs):
        return CallbackResult(status=200, payload=token_reply(next(tokens)))

    def cb(url, **kwargs):
        auth_seen.append(kwargs["headers"]["Authorization"])
        if kwargs["headers"]["Authorization"] == "Bearer tok-1":
            return CallbackResult(status=401, payload=sh_error(401, "COMMON_UNAUTHORIZED", "expired"))
        return CallbackResult(status=200, payload={"ok": 1})

    with aioresponses() as m:
        m.post(TOKEN_URL, callback=token_cb, repeat=True)
        m.get(f"{BASE}/x", callback=cb, repeat=True)
        assert await transport.request_json("GET", "/x", operation="x") == {"ok": 1}
    assert auth_seen == ["Bearer tok-1", "Bearer tok-2"]
    assert transport.auth is not None and transport.auth.refresh_count == 2


async def test_second_revocation_within_one_call_is_survived(transport) -> None:
    """Two 401s with two different bearers (a revocation racing a rotation): a second refresh wins."""
    tokens = iter(["tok-1", "tok-2", "tok-3"])
    auth_seen: list[str] = []

    def token_cb(url, **kwargs):
        return CallbackResult(status=200, payload=token_reply(next(tokens)))

    def cb(url, **kwargs):
        auth_seen.append(kwargs["headers"]["Authorization"])
        if kwargs["headers"]["Authorization"] in ("Bearer tok-1", "Bearer tok-2"):
            return CallbackResult(status=401, payload=sh_error(401, "COMMON_UNAUTHORIZED", "revoked"))
        return CallbackResult(status=200, payload={"ok": 1})

    with aioresponses() as m:
        m.post(TOKEN_URL, callback=token_cb, repeat=True)
        m.get(f"{BASE}/x", callback=cb, repeat=True)
        assert await transport.request_json("GET", "/x", operation="x") == {"ok": 1}
    assert auth_seen == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-3"]


async def test_401_every_time_raises_authentication_error_after_bounded_replays(transport) -> None:
    token_calls = 0

    def token_cb(url, **kwargs):
        nonlocal token_calls
        token_calls += 1
        return CallbackResult(status=200, payload=token_reply(f"tok-{token_calls}"))

    with aioresponses() as m:
        m.post(TOKEN_URL, callback=token_cb, repeat=True)
        m.get(f"{BASE}/x", status=401, payload=sh_error(401, "COMMON_UNAUTHORIZED", "no"), repeat=True)
        with pytest.raises(AuthenticationError) as info:
            await transport.request("GET", "/x", operation="x")
    assert info.value.status == 401
    assert info.value.code == "COMMON_UNAUTHORIZED"
    assert token_calls == 3  # the first token and two refreshes, then the 401 is the answer


async def test_hundred_concurrent_requests_cause_one_token_request(transport) -> None:
    calls = 0

    async def token_cb(url, **kwargs):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return CallbackResult(status=200, payload=token_reply())

    with aioresponses() as m:
        m.post(TOKEN_URL, callback=token_cb, repeat=True)
        m.get(re.compile(rf"{BASE}/item/\d+"), payload={}, repeat=True)
        await asyncio.gather(*(transport.request("GET", f"/item/{i}", operation="i") for i in range(100)))
    assert calls == 1


async def test_expired_token_refreshed_once_for_concurrent_requests(transport) -> None:
    tokens = iter([token_reply("old", expires_in=1), token_reply("new", expires_in=3600)])
    calls = 0

    async def token_cb(url, **kwargs):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return CallbackResult(status=200, payload=next(tokens))

    with aioresponses() as m:
        m.post(TOKEN_URL, callback=token_cb, repeat=True)
        m.get(re.compile(rf"{BASE}/item/\d+"), payload={}, repeat=True)
        await transport.request("GET", "/item/0", operation="i")
        # lifetime 1 s with a margin of half of it: the token is stale already
        await asyncio.sleep(0.6)
        await asyncio.gather(*(transport.request("GET", f"/item/{i}", operation="i") for i in range(100)))
    assert calls == 2


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, BadRequestError),
        (418, APIError),
        (501, ServerError),
    ],
)
async def test_error_mapping(transport, status: int, cls: type[APIError]) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply(), repeat=True)
        m.post(
            f"{BASE}/x", status=status, payload=sh_error(status, "CODE_X", "said the service"), repeat=True
        )
        with pytest.raises(cls) as info:
            await transport.request("POST", "/x", operation="op.name", json={})
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.code == "CODE_X"
    assert "said the service" in str(info.value)
    assert "op.name" in str(info.value)


async def test_spaceknow_error_body(sleeps) -> None:
    t = make_transport(SPACEKNOW, sleeps)
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.post(
            f"{BASE}/kraken/release/initiate",
            status=400,
            payload={"error": "SCENES-WITH-SAME-DATETIME", "errorMessage": "two scenes"},
        )
        with pytest.raises(BadRequestError) as info:
            await t.request("POST", "/kraken/release/initiate", operation="kraken.release", json={})
    await t.aclose()
    assert info.value.code == "SCENES-WITH-SAME-DATETIME"
    assert info.value.service_message == "two scenes"
    assert info.value.service == "spaceknow"


async def test_html_error_page_still_typed(transport) -> None:
    page = "<html><head><title>403 Forbidden</title></head><body><h1>nginx</h1></body></html>"
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=403, body=page, content_type="text/html")
        with pytest.raises(PermissionDeniedError) as info:
            await transport.request("GET", "/x", operation="x")
    assert info.value.service_message == "403 Forbidden"
    assert info.value.code is None


async def test_non_json_success_body_is_decode_error(transport) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=200, body="<html>oops</html>", content_type="text/html")
        with pytest.raises(ResponseDecodeError):
            await transport.request_json("GET", "/x", operation="x")


async def test_token_endpoint_refusal_is_authentication_error_without_secret(transport) -> None:
    with aioresponses() as m:
        m.post(
            TOKEN_URL,
            status=401,
            payload={
                "error": "invalid_client",
                "error_description": f"Invalid client credentials {SECRET}",
            },
        )
        with pytest.raises(AuthenticationError) as info:
            await transport.request("GET", "/x", operation="x")
    assert info.value.code == "invalid_client"
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert "***" in str(info.value)


async def test_closed_transport_is_clear_error(transport) -> None:
    await transport.aclose()
    with pytest.raises(ClientClosedError):
        await transport.request("GET", "/x", operation="x")


async def test_ok_statuses_are_returned(transport) -> None:
    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply())
        m.get(f"{BASE}/x", status=404, payload=sh_error(404, "NF", "gone"))
        resp = await transport.request("GET", "/x", operation="x", ok={404: True})
    assert resp.status == 404


async def test_streamed_upload_is_sent_once_not_retried_or_replayed(transport, sleeps) -> None:
    async def body():
        yield b"chunk-1"
        yield b"chunk-2"

    with aioresponses() as m:
        m.post(TOKEN_URL, payload=token_reply(), repeat=True)
        m.post(f"{BASE}/upload", status=503)
        m.post(f"{BASE}/upload", status=200, payload={})
        with pytest.raises(ServerError):
            await transport.request("POST", "/upload", operation="u", data=body(), idempotent=True)
        m.post(f"{BASE}/upload2", status=401, payload=sh_error(401, "COMMON_UNAUTHORIZED", "x"))
        m.post(f"{BASE}/upload2", status=200, payload={})
        with pytest.raises(AuthenticationError):
            await transport.request("POST", "/upload2", operation="u", data=body())
    assert sleeps.calls == []


async def test_a_request_the_limiter_refuses_names_its_operation(sleeps) -> None:
    from eoclient._http.ratelimit import RateLimit
    from eoclient.errors import ClientRateLimitError

    # One request a minute, at most 1 s in the limiter: the second request would wait ~60 s.
    t = make_transport(SENTINELHUB, sleeps, rate_limit=RateLimit(per_minute=1, max_wait=1.0))
    try:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply())
            m.get(f"{BASE}/x", payload={"ok": 1}, repeat=True)
            await t.request("GET", "/x", operation="x.first")
            with pytest.raises(ClientRateLimitError) as info:
                await t.request("GET", "/x", operation="x.second")
            assert len([k for k in m.requests if str(k[1]).endswith("/x")]) == 1  # nothing sent
    finally:
        await t.aclose()
    err = info.value
    assert err.operation == "x.second" and err.path == "/x" and "x.second" in str(err)
    assert err.retry_after is not None and err.retry_after > 1.0

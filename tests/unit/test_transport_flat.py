"""The flat path is the stages' result: every scenario run both ways must end the same.

:func:`eoclient._http.stages.send` takes a usual request through one coroutine
and hands anything else to the stages. Each scenario below runs twice on a
fresh transport: once as it runs in production without debug logging (flat
first), once through the stages from the start (as with debug logging on).
What the caller gets (the answer or the error, with its fields), what the
service saw (each request and its bearer), what the limiter was asked and
told, and every backoff sleep must be identical.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from eoclient._http import media, stages
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.transport import Transport
from tests.conftest import SleepRecorder
from tests.unit.test_transport import BASE, TOKEN_URL, make_transport, sh_error, token_reply
from tests.unit.test_transport_stages import RecordingLimiter

Reply = Callable[..., CallbackResult]
# (method, path, the service's answers in order, the call's keywords)
Scenario = tuple[str, str, list[Any], dict[str, Any]]


def _json(status: int, body: Any, **headers: str) -> CallbackResult:
    return CallbackResult(status=status, payload=body, headers=headers or None)


SCENARIOS: dict[str, Scenario] = {
    "ok": ("GET", "/a", [_json(200, {"id": "x"})], {}),
    "ok POST": ("POST", "/a", [_json(201, {"id": "x"})], {"json": {"q": 1}}),
    "error document in a 200": (
        "GET",
        "/a",
        [_json(200, sh_error(400, "RENDERER_EXCEPTION", "bad evalscript"))],
        {},
    ),
    "503 then 200": ("GET", "/a", [_json(503, {}), _json(200, {"n": 2})], {}),
    "503 on a POST (not retried)": ("POST", "/a", [_json(503, {})], {"json": {}}),
    "429 with Retry-After then 200": (
        "GET",
        "/a",
        [_json(429, {}, **{"Retry-After": "250"}), _json(200, {"n": 2})],
        {},
    ),
    "401 replayed with a new token": ("GET", "/a", [_json(401, {}), _json(200, {"n": 2})], {}),
    "401 three times": ("GET", "/a", [_json(401, {})] * 3, {}),
    "404": ("GET", "/a", [_json(404, sh_error(404, "NOT_FOUND", "no such thing"))], {}),
    "404 accepted": ("GET", "/a", [_json(404, {"gone": True})], {"ok": {404: True}}),
    "redirect followed": (
        "GET",
        "/a",
        [CallbackResult(status=302, headers={"Location": f"{BASE}/b"}), _json(200, {"moved": 1})],
        {},
    ),
    "redirect refused (POST)": (
        "POST",
        "/a",
        [CallbackResult(status=307, headers={"Location": f"{BASE}/b"})],
        {"json": {}},
    ),
    "connection reset then 200": (
        "GET",
        "/a",
        [aiohttp.ServerDisconnectedError(), _json(200, {"n": 2})],
        {},
    ),
    "timeout on a POST": ("POST", "/a", [TimeoutError()], {"json": {}}),
    "a web page where JSON was expected": (
        "GET",
        "/a",
        [CallbackResult(status=200, body="<html>login</html>", content_type="text/html")],
        {"expect": media.JSON},
    ),
    "stream": ("GET", "/a", [_json(200, {"id": "x"})], {"stream": True}),
    "stream after a 503": ("GET", "/a", [_json(503, {}), _json(200, {"n": 2})], {"stream": True}),
    "not rate limited": ("GET", "/a", [_json(200, {"id": "x"})], {"rate_limited": False}),
    "without the bearer": ("GET", "/a", [_json(200, {"id": "x"})], {"authenticate": False}),
}


_RETRY_SEND = stages.RetryStage.send


async def _run(scenario: Scenario, *, flat: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything observable of one run: service log, limiter events, sleeps, outcome."""
    method, path, answers, call = scenario
    call = dict(call)
    streamed = call.pop("stream", False)
    monkeypatch.setattr(stages, "log_enabled", lambda level: not flat)
    entered: list[str] = []

    async def spy(self: stages.RetryStage, x: stages.Exchange) -> stages.Answer:
        if x.opts.operation == "op":  # not the token request
            entered.append("stages")
        return await _RETRY_SEND(self, x)

    monkeypatch.setattr(stages.RetryStage, "send", spy)
    events: list[str] = []
    sleeps = SleepRecorder()
    t: Transport = make_transport(SENTINELHUB, sleeps, rng=random.Random(15))  # the same jitter both ways
    t.limiter = RecordingLimiter(events)  # type: ignore[assignment]
    tokens = iter(["tok-1", "tok-2", "tok-3", "tok-4"])

    def token(url: str, **kwargs: Any) -> CallbackResult:
        events.append("token")
        return CallbackResult(status=200, payload=token_reply(next(tokens)))

    def reply(answer: Any) -> Reply:
        def cb(url: Any, **kwargs: Any) -> CallbackResult:
            events.append(f"{kwargs.get('headers', {}).get('Authorization')} {url}")
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return cb

    outcome: Any
    try:
        with aioresponses() as m:
            m.post(TOKEN_URL, callback=token, repeat=True)
            m.add(f"{BASE}/b", "GET", callback=reply(_json(200, {"moved": 1})))
            for answer in answers:
                m.add(f"{BASE}{path}", method, callback=reply(answer))
            try:
                if streamed:
                    async with t.stream(method, path, operation="op", **call) as stream:
                        body = await stream.read()
                    outcome = ("stream", stream.status, body, stream.path, dict(stream.headers))
                else:
                    resp = await t.request(method, path, operation="op", **call)
                    outcome = ("answer", resp.status, resp.body, resp.path, dict(resp.headers))
            except Exception as exc:
                unchained = exc.__cause__ is None and exc.__context__ is None
                outcome = ("error", type(exc).__name__, str(exc), sorted(vars(exc).items()), unchained)
    finally:
        await t.aclose()
    return [outcome, events, sleeps.calls, entered]


@pytest.mark.parametrize("name", SCENARIOS)
async def test_the_flat_path_ends_as_the_stages_do(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    *flat, flat_entered = await _run(SCENARIOS[name], flat=True, monkeypatch=monkeypatch)
    *staged, staged_entered = await _run(SCENARIOS[name], flat=False, monkeypatch=monkeypatch)
    assert flat == staged
    assert flat[0][0] != "error" or flat[0][-1], "an error chains aiohttp's exception (it holds the bearer)"
    assert staged_entered == ["stages"]
    # The flat path hands over exactly when the first hop is not accepted (an error status, a
    # redirect, a broken connection); what it refuses by itself (an error document, a web page)
    # the stages would have raised unchanged.
    first = SCENARIOS[name][2][0]
    accepted = isinstance(first, CallbackResult) and (first.status < 300 or name == "404 accepted")
    assert flat_entered == ([] if accepted else ["stages"])

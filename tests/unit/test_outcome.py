"""The unknown-outcome mechanism on its own: which errors qualify, lookups, claims, actions, notes."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import anyio
import anyio.lowlevel
import pytest

from eoclient._http.failures import transport_error as _transport_error
from eoclient._http.retry import RetryPolicy
from eoclient._outcome import (
    Claims,
    act_or_check,
    create_or_find,
    created_id,
    note_created,
    outcome_unknown,
)
from eoclient.errors import (
    BadRequestError,
    ConflictError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TimeoutError,
    TransportError,
)
from eoclient.sentinelhub._lookup import holds

NO_PAUSE = RetryPolicy(initial_backoff=0.0, max_backoff=0.0)


@dataclass(frozen=True)
class Thing:
    id: str


def dropped() -> TransportError:
    return _transport_error(aiohttp.ServerDisconnectedError(), "op", "POST", "/x")


def never_connected() -> TransportError:
    key = aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None)
    return _transport_error(aiohttp.ClientConnectorError(key, OSError(111, "refused")), "op", "POST", "/x")


def connect_timed_out() -> TransportError:
    return _transport_error(aiohttp.ConnectionTimeoutError(), "op", "POST", "/x")


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (dropped(), True),
        (TimeoutError("timed out"), True),
        (ServerError(status=500), True),
        (ServerError(status=502), True),
        (ServerError(status=503), True),
        (ServerError(status=504), True),
        (ResponseDecodeError("truncated"), True),
        (ServerError(status=501), False),
        (BadRequestError(status=400), False),
        (ConflictError(status=409), False),
        (RateLimitError(status=429), False),
        (never_connected(), False),
        (connect_timed_out(), False),
    ],
)
def test_which_errors_leave_the_outcome_unknown(error: Exception, unknown: bool) -> None:
    assert outcome_unknown(error) is unknown


async def lost() -> Thing:
    raise ServerError(status=502)


def finder(*batches: Sequence[Thing]) -> tuple[list[int], object]:
    calls = [0]

    async def find() -> list[Thing]:
        calls[0] += 1
        return list(batches[min(calls[0], len(batches)) - 1])

    return calls, find


async def create(find: object, claims: Claims | None = None, key: str = "k") -> Thing:
    return await create_or_find(
        lost,
        find=find,  # type: ignore[arg-type]
        identify=lambda t: t.id,
        operation="thing.create",
        resource="thing",
        how_to_find="search things by name",
        claims=claims,
        key=key,
        retry=NO_PAUSE,
    )


async def test_the_one_found_is_returned_and_claimed() -> None:
    claims = Claims()
    _, find = finder([Thing("a")])
    assert await create(find, claims) == Thing("a")
    assert claims.claimed("a")


async def test_found_on_a_later_lookup() -> None:
    calls, find = finder([], [Thing("a")])
    assert await create(find) == Thing("a")
    assert calls == [2]


async def test_several_found_are_ambiguous() -> None:
    _, find = finder([Thing("a"), Thing("b")])
    with pytest.raises(OutcomeUnknownError) as info:
        await create(find)
    assert info.value.candidates == ("a", "b")
    assert isinstance(info.value.__cause__, ServerError)
    assert "search things by name" in str(info.value) and "a, b" in str(info.value)


async def test_claimed_ids_are_left_out() -> None:
    claims = Claims()
    claims.claim("a")
    _, find = finder([Thing("a"), Thing("b")])
    assert await create(find, claims) == Thing("b")


async def test_nothing_found_raises_with_how_to_find() -> None:
    calls, find = finder([])
    with pytest.raises(OutcomeUnknownError) as info:
        await create(find)
    assert calls == [2]  # bounded
    assert info.value.candidates == () and info.value.how_to_find == "search things by name"
    assert "did not find it" in str(info.value)


async def test_a_failing_lookup_raises_with_its_error() -> None:
    async def find() -> list[Thing]:
        raise ServerError(status=503)

    with pytest.raises(OutcomeUnknownError) as info:
        await create(find)
    assert "the lookup failed" in str(info.value)


async def test_no_lookup_raises_at_once() -> None:
    with pytest.raises(OutcomeUnknownError) as info:
        await create(None)
    assert isinstance(info.value.__cause__, ServerError)


async def test_definite_refusals_pass_unchanged() -> None:
    async def refused() -> Thing:
        raise BadRequestError(status=400, code="BAD")

    calls, find = finder([Thing("a")])
    with pytest.raises(BadRequestError):
        await create_or_find(
            refused, find=find, identify=lambda t: t.id, operation="o", resource="r", how_to_find=""
        )
    assert calls == [0]


async def test_the_lookup_waits_for_identical_creates_being_sent() -> None:
    claims = Claims()
    release = anyio.Event()

    async def slow() -> Thing:
        await release.wait()
        return Thing("theirs")

    async def other() -> None:
        await create_or_find(
            slow,
            find=None,
            identify=lambda t: t.id,
            operation="o",
            resource="r",
            how_to_find="",
            claims=claims,
            key="k",
        )

    async def find() -> list[Thing]:
        return [Thing("theirs"), Thing("mine")]

    result: dict[str, Thing] = {}

    async def mine() -> None:
        result["mine"] = await create(find, claims)

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.lowlevel.checkpoint()
        assert claims.busy("k")
        tg.start_soon(mine)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        assert not result  # its answer is lost, and it waits for the other create to answer
        release.set()
    # Without waiting, both would be candidates (ambiguous); with it, "theirs" was claimed first.
    assert result["mine"] == Thing("mine")


async def test_action_that_took_effect_returns() -> None:
    async def took_effect() -> bool:
        return True

    await act_or_check(
        lost, took_effect=took_effect, operation="x.start", resource="x", resource_id="1", how_to_find=""
    )


async def test_action_that_did_not_happen_raises_the_original_error() -> None:
    async def took_effect() -> bool:
        return False

    with pytest.raises(ServerError) as info:
        await act_or_check(
            lost, took_effect=took_effect, operation="x.start", resource="x", resource_id="1", how_to_find=""
        )
    assert any("can be sent again" in note for note in info.value.__notes__)


async def test_action_whose_state_cannot_be_read_carries_the_id() -> None:
    async def took_effect() -> bool:
        raise dropped()

    with pytest.raises(OutcomeUnknownError) as info:
        await act_or_check(
            lost,
            took_effect=took_effect,
            operation="x.start",
            resource="x",
            resource_id="1",
            how_to_find="get(1)",
        )
    assert info.value.resource_id == "1" and created_id(info.value) == "1"


def test_note_created_puts_the_id_on_the_error() -> None:
    error = ServerError(status=503)
    note_created(error, resource="batch request", resource_id="abc", hint="run('abc') continues it")
    assert created_id(error) == "abc"
    assert error.__notes__ == ["batch request abc was created; run('abc') continues it"]


def test_outcome_unknown_error_pickles() -> None:
    error = OutcomeUnknownError(
        "lost", operation="op", resource="thing", how_to_find="look", resource_id="1", candidates=["a"]
    )
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert (copy.candidates, copy.resource_id, copy.how_to_find) == (("a",), "1", "look")


def test_holds_ignores_added_fields_and_storage_keys() -> None:
    sent = {
        "a": 1,
        "s3": {"url": "s3://b", "accessKey": "K", "secretAccessKey": "S"},
        "l": [1.0, {"x": True}],
    }
    shown = {"a": 1.0, "extra": 2, "s3": {"url": "s3://b"}, "l": [1, {"x": True, "y": 0}]}
    assert holds(shown, sent)
    assert not holds({**shown, "a": 2}, sent)
    assert not holds({**shown, "l": [1, {"x": 1}]}, sent)  # true is not 1
    assert not holds({k: v for k, v in shown.items() if k != "a"}, sent)

"""A batch job's poll decodes the status fields; the whole record is decoded from the same answer on use."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from eoclient._http.transport import Response
from eoclient.errors import ResponseDecodeError
from eoclient.jobs import Job, JobState
from eoclient.sentinelhub.batch_jobs import LEGACY, V2, BatchJobStrategy
from eoclient.sentinelhub.batch_models import BatchRequest
from eoclient.sentinelhub.batch_v1_models import BatchV1Request

UID = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
PATH = f"/api/v2/batch/process/{UID}"


def answer(raw: str, /, **fields: Any) -> bytes:
    doc = {
        "id": UID,
        "status": raw,
        "request": {"description": "poll test"},
        "created": "2026-12-07T15:23:12.647Z",
        "costPU": 1.5,
        "completionPercentage": 50.0,
        **fields,
    }
    return json.dumps(doc).encode()


class Transport:
    """Answers each GET with the next scripted body, as the client's transport buffers it."""

    def __init__(self, *bodies: bytes) -> None:
        self.bodies = list(bodies)
        self.sent: list[tuple[str, str]] = []

    async def request(self, method: str, path: str, *, operation: str, **call: Any) -> Response:
        self.sent.append((method, path))
        headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
        return Response(200, headers, self.bodies.pop(0), path, operation)

    async def request_json(self, method: str, path: str, *, operation: str, type: Any, **call: Any) -> Any:
        resp = await self.request(method, path, operation=operation, **call)
        return resp.json(type)

    async def request_with(
        self, make: Any, arg: Any, method: str, path: str, *, operation: str, **call: Any
    ) -> Any:
        resp = await self.request(method, path, operation=operation, **call)
        return make(resp.headers, resp.body, resp.path, arg)


def strategy(transport: Transport, surface: Any = V2, **options: Any) -> BatchJobStrategy[Any]:
    ctx: Any = SimpleNamespace(transport=transport)
    return BatchJobStrategy(ctx, surface, UID, **options)


async def test_last_is_the_whole_record_of_the_last_answer_without_another_request() -> None:
    body = answer("PROCESSING", completionPercentage=25.0)
    transport = Transport(body)
    poller = strategy(transport)
    status = await poller.poll()
    assert (status.state, status.raw, status.progress) == (JobState.RUNNING, "PROCESSING", 0.25)
    last = poller.last
    assert isinstance(last, BatchRequest)
    assert last == msgspec.json.decode(body, type=BatchRequest)
    assert (last.description, last.cost_pu, last.created is not None) == ("poll test", 1.5, True)
    assert poller.last is last  # decoded once
    assert len(transport.sent) == 1


async def test_a_job_returns_the_whole_final_record() -> None:
    transport = Transport(answer("PROCESSING"), answer("DONE", completionPercentage=100.0))
    job: Job[BatchRequest] = Job(strategy(transport), sleep=_no_sleep)
    final = await job.wait()
    assert isinstance(final, BatchRequest)
    assert (final.status, final.description, final.progress) == ("DONE", "poll test", 1.0)
    assert len(transport.sent) == 2


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    "bad",
    [{"completionPercentage": "half"}, {"status": None}, {"userAction": 3}, {"stoppedStatusReason": []}],
)
async def test_a_status_field_the_record_refuses_fails_the_poll(bad: dict[str, Any]) -> None:
    poller = strategy(Transport(answer("PROCESSING", **bad)))
    with pytest.raises(ResponseDecodeError) as caught:
        await poller.poll()
    assert caught.value.operation == "batch.get"
    assert poller.last is None


async def test_another_field_the_record_refuses_fails_when_the_record_is_read() -> None:
    # A running job's answer is decoded in full only when its record is read: the same typed
    # error, raised where the record is used (each read, until a good answer replaces it).
    poller = strategy(Transport(answer("PROCESSING", created="yesterday")))
    assert (await poller.poll()).raw == "PROCESSING"
    for _ in range(2):
        with pytest.raises(ResponseDecodeError) as caught:
            _ = poller.last
        assert caught.value.operation == "batch.get"


async def test_a_final_answer_the_record_refuses_fails_the_wait() -> None:
    transport = Transport(answer("PROCESSING"), answer("DONE", request=[1]))
    job: Job[BatchRequest] = Job(strategy(transport), sleep=_no_sleep)
    with pytest.raises(ResponseDecodeError):
        await job.wait()


async def test_a_missing_id_fails_the_poll_as_it_fails_the_record() -> None:
    doc = json.loads(answer("PROCESSING"))
    del doc["id"]
    poller = strategy(Transport(json.dumps(doc).encode()))
    with pytest.raises(ResponseDecodeError, match="id"):
        await poller.poll()


async def test_drive_reads_the_status_fields_and_starts_once_analysed() -> None:
    transport = Transport(answer("ANALYSIS_DONE", userAction="ANALYSE", created="yesterday"))
    poller = strategy(transport, start=True)
    actions: list[str] = []

    async def action(name: str) -> None:
        actions.append(name)

    poller._action = action  # type: ignore[method-assign]
    status = await poller.poll()
    assert await poller.drive(status) is True
    assert actions == ["start"]


async def test_a_legacy_poll_reads_its_own_fields() -> None:
    body = json.dumps({"id": UID, "status": "PARTIAL", "tileCount": 4, "stoppedStatusReason": "OUT_OF_PU"})
    poller = strategy(Transport(body.encode()), LEGACY)
    status = await poller.poll()
    assert (status.state, status.progress) == (JobState.SUCCEEDED, 1.0)
    assert isinstance(poller.last, BatchV1Request)
    assert poller.last.tile_count == 4


async def test_a_record_set_from_elsewhere_replaces_the_undecoded_answer() -> None:
    poller = strategy(Transport(answer("PROCESSING", created="yesterday")))
    await poller.poll()
    listed = BatchRequest(id=UID, status="ANALYSIS_DONE")
    poller.last = listed  # what a monitor's listing does
    assert poller.last is listed


def test_only_a_job_that_starts_the_request_and_waits_for_its_end_may_drive() -> None:
    transport = Transport()
    assert strategy(transport, start=True).may_drive is True
    assert strategy(transport).may_drive is False  # sh.batch.job(id): it only watches
    assert strategy(transport, start=True, until="analysis").may_drive is False

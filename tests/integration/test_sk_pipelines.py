"""SpaceKnow pipelines through Job: initiate, nextTry-paced polling with progress, retrieve."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from eoclient._models import Model
from eoclient.emulator import Emulator
from eoclient.emulator.core.jobs import Phase
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.pipelines import create_pipeline, initiate_response, retrieve_handler
from eoclient.errors import JobFailedError, ValidationError
from eoclient.jobs import JobState
from eoclient.spaceknow.pipelines import attach, initiate, register_result
from tests.integration.conftest import sk_client
from tests.integration.stepped import frozen_clock, step_through


class EchoResult(Model):
    echo: dict[str, Any]
    rows: int


register_result("/test/echo/retrieve", EchoResult)


def echo_routes(app: web.Application, state: EmulatorState) -> None:
    async def _initiate(request: web.Request) -> web.Response:
        body = await request.json()
        st = get_state(request)
        outcome = "FAILED" if body.get("fail") else "RESOLVED"
        job = create_pipeline(
            st,
            "test/echo",
            result=lambda: {"echo": body, "rows": 3},
            outcome=outcome,
            error="SCENES-WITH-SAME-DATETIME: two scenes share a datetime",
            phases=[Phase("NEW", 2, "queued"), Phase("PROCESSING", 5, "crunching")],
        )
        return initiate_response(job, st)

    app.router.add_post("/test/echo/initiate", _initiate)
    app.router.add_post("/test/echo/retrieve", retrieve_handler("test/echo"))


pytestmark = pytest.mark.eo_emulator(clock_speed=500.0, spaceknow_setup=[echo_routes])


async def test_pipeline_resolves_and_retrieves(eo_emulator: Emulator) -> None:
    async with sk_client(eo_emulator) as sk:
        with frozen_clock(eo_emulator):  # each phase is seen, however slow the machine
            job = await initiate(
                sk.context,
                "/test/echo/initiate",
                {"a": 1},
                retrieve="/test/echo/retrieve",
                result=EchoResult,
                operation="test.echo",
            )
            assert len(job.id) == 20
            assert job.status is not None and job.status.raw == "NEW"
            seen = await step_through(job, eo_emulator)
        result = await job
    assert result == EchoResult(echo={"a": 1}, rows=3)
    assert [(s.raw, s.message) for s in seen] == [
        ("NEW", None),
        ("PROCESSING", "crunching"),
        ("RESOLVED", "Pipeline finished"),
    ]
    assert [s.step for s in seen] == [None, 2, 3]
    polls = [r for r in eo_emulator.requests if r.path == "/tasking/get-status"]
    assert polls and all(r.body is not None and b"getProgress" in r.body for r in polls)


async def test_failed_pipeline_raises_with_service_text(eo_emulator: Emulator) -> None:
    async with sk_client(eo_emulator) as sk:
        job = await initiate(
            sk.context,
            "/test/echo/initiate",
            {"fail": True},
            retrieve="/test/echo/retrieve",
            result=EchoResult,
            operation="test.echo",
        )
        with pytest.raises(JobFailedError) as info:
            await job
    assert "SCENES-WITH-SAME-DATETIME" in (info.value.error or "")
    assert info.value.status == "FAILED"


async def test_reattach_from_id_and_from_resume_token(eo_emulator: Emulator) -> None:
    async with sk_client(eo_emulator) as sk:
        job = await initiate(
            sk.context,
            "/test/echo/initiate",
            {"b": 2},
            retrieve="/test/echo/retrieve",
            result=EchoResult,
            operation="test.echo",
        )
        token = job.resume_token
    async with sk_client(eo_emulator) as other:
        by_id = attach(other.context, job.id, retrieve="/test/echo/retrieve")
        assert (await by_id).rows == 3
        by_token = other.resume_job(token)
        assert (await by_token).echo == {"b": 2}
        assert by_token.status is not None and by_token.status.state is JobState.SUCCEEDED
        assert await by_token.cancel() is False  # finished; SpaceKnow can't cancel anyway


async def test_pipeline_id_must_be_20_characters(eo_emulator: Emulator) -> None:
    async with sk_client(eo_emulator) as sk:
        with pytest.raises(ValidationError) as info:
            attach(sk.context, "short", retrieve="/test/echo/retrieve")
        assert info.value.field == "pipeline_id"
        with pytest.raises(ValidationError):
            attach(sk.context, "a" * 20, retrieve="/unknown/retrieve")
    assert not [r for r in eo_emulator.requests if r.path == "/tasking/get-status"]

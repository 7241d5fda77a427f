"""The client side of the emulator's sample job, driven through :class:`~eoclient.jobs.Job`.

Test support, not client API: a small but complete job strategy against the
emulator-only ``/_sample/jobs`` API (served by :mod:`eoclient.emulator.core.sample_jobs`),
whose phases, outcome and results a test chooses. The tests of the job handle,
its cancellation and fault recovery run it.

Example::

    async with Emulator(clock_speed=100) as emu, sentinelhub_client(emu) as sh:
        job = await submit_sample_job(sh, outcome="SUCCEEDED", results=7)
        async for status in job.watch():
            print(status.raw, status.progress)
        async for item in job.results():
            print(item.index, item.value)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from eoclient._client import BaseClient
from eoclient._models import Model, from_wire
from eoclient.errors import ConflictError, ResponseDecodeError
from eoclient.jobs import Job, JobState, JobStatus, register_job_kind
from eoclient.paging import Page, Paginator

__all__ = ["KIND", "SampleItem", "SampleJob", "submit_sample_job"]

KIND: Final = "emulator.sample"
_BASE: Final = "/_sample/jobs"
_STATES: Final = {
    "QUEUED": JobState.PENDING,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


class _Status(Model):
    id: str
    status: str
    progress: float | None = None
    message: str | None = None
    next_try: float | None = None
    error: str | None = None


class SampleItem(Model):
    """One result item of a sample job."""

    index: int
    value: float


class _ResultPage(Model):
    items: list[SampleItem]
    cursor: str | None = None


class SampleJob:
    """Job strategy for the emulator's sample job API."""

    kind = KIND

    def __init__(self, client: BaseClient, job_id: str) -> None:
        self._client = client
        self.job_id = job_id

    def _to_status(self, data: _Status) -> JobStatus:
        state = _STATES.get(data.status)
        if state is None:
            raise ResponseDecodeError(
                f"unknown job status {data.status!r}", operation="sample.status", path=_BASE
            )
        return JobStatus(
            state=state,
            raw=data.status,
            progress=data.progress,
            message=data.message,
            error=data.error,
            retry_after=data.next_try,
        )

    async def poll(self) -> JobStatus:
        data = await self._client.transport.request_json(
            "GET", f"{_BASE}/{self.job_id}", operation="sample.status", type=_Status
        )
        return self._to_status(data)

    async def result(self, final: JobStatus) -> Paginator[SampleItem]:
        async def fetch(cursor: Any) -> Page[SampleItem]:
            params = {"cursor": cursor} if cursor is not None else None
            page = await self._client.transport.request_json(
                "GET",
                f"{_BASE}/{self.job_id}/results",
                operation="sample.results",
                params=params,
                type=_ResultPage,
            )
            return Page(page.items, page.cursor)

        return Paginator(fetch)

    async def cancel(self) -> bool:
        try:
            await self._client.transport.request(
                "POST", f"{_BASE}/{self.job_id}/cancel", operation="sample.cancel", idempotent=True
            )
        except ConflictError:
            return False  # it had already finished
        return True

    def resume_data(self) -> dict[str, Any]:
        return {}


def _resume(client: Any, job_id: str, data: Mapping[str, Any]) -> SampleJob:
    return SampleJob(client, job_id)


register_job_kind(KIND, _resume, service="sentinelhub")  # served by the Sentinel Hub app


async def submit_sample_job(
    client: BaseClient,
    *,
    phases: Sequence[tuple[str, float]] | None = None,
    outcome: str = "SUCCEEDED",
    error: str | None = None,
    results: int = 5,
    page_size: int = 2,
) -> Job[Paginator[SampleItem]]:
    """Start a sample job on the emulator and return its handle."""
    body: dict[str, Any] = {"outcome": outcome, "results": results, "pageSize": page_size}
    if phases is not None:
        body["phases"] = [list(p) for p in phases]
    if error is not None:
        body["error"] = error
    resp = await client.transport.request_json(
        "POST", _BASE, operation="sample.create", json=body, type=dict[str, Any]
    )
    strategy = SampleJob(client, str(resp["id"]))
    initial = strategy._to_status(from_wire(resp, _Status, operation="sample.create", path=_BASE))
    return Job(strategy, poll=client.poll_policy, initial_status=initial)

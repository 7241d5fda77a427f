"""``eoclient demo``: the client's main job, end to end, against the embedded emulator.

No credentials and no network are needed: the emulator is started on loopback
with faults switched on, and every step prints one JSON line. What it shows:
logins to both services (single-flight token refresh after expiry), retries of
429/5xx with the service's ``Retry-After``, several long-running jobs awaited
concurrently through :class:`~eoclient.jobs.Job` (watching status and
progress, a failed and a cancelled job, paged results), and a job re-attached
from its resume token by a second client.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

import anyio

from eoclient._http.retry import RetryPolicy
from eoclient.emulator import Emulator
from eoclient.errors import JobCancelledError, JobFailedError
from eoclient.jobs import Job, PollPolicy
from eoclient.paging import Paginator
from eoclient.sample_job import SampleItem, submit_sample_job
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow

__all__ = ["run_demo"]

Emit = Callable[..., None]


def _emitter(out: TextIO) -> Emit:
    def emit(event: str, **fields: Any) -> None:
        out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        out.flush()

    return emit


async def _follow(name: str, job: Job[Paginator[SampleItem]], emit: Emit, results: dict[str, Any]) -> None:
    try:
        async for status in job.watch():
            emit("job.status", job=name, status=status.raw, progress=status.progress, message=status.message)
        items = [item async for item in job.results()]
    except JobFailedError as exc:
        results[name] = {"failed": exc.error}
    except JobCancelledError:
        results[name] = {"cancelled": True}
    else:
        results[name] = {"items": len(items), "sum": round(sum(i.value for i in items), 6)}
    emit("job.result", job=name, **results[name])


async def run_demo(*, seed: int = 1, clock_speed: float = 100.0, out: TextIO | None = None) -> dict[str, Any]:
    """Run the demo; returns a summary (also printed as the last JSON line)."""
    emit = _emitter(out or sys.stdout)
    retry = RetryPolicy(attempts=6, initial_backoff=0.02, max_backoff=0.2)
    poll = PollPolicy(initial=0.01, max_delay=0.2)
    async with Emulator(seed=seed, clock_speed=clock_speed) as emu:
        emit("emulator.started", sentinelhub=emu.sentinelhub_url, spaceknow=emu.spaceknow_url)
        creds = emu.credentials
        sh = SentinelHub(
            creds.sh_client_id,
            creds.sh_client_secret,
            base_url=emu.sentinelhub_url,
            token_url=emu.sentinelhub_token_url,
            retry=retry,
            poll=poll,
        )
        sk = SpaceKnow(
            creds.sk_username,
            creds.sk_password,
            base_url=emu.spaceknow_url,
            auth_url=emu.spaceknow_auth_url,
            retry=retry,
            poll=poll,
        )
        async with sh, sk:
            await sh.authenticate()
            await sk.authenticate()
            emit("login", services=["sentinelhub", "spaceknow"], token_requests=emu.token_requests())

            # The services misbehave: rate limits (Retry-After in each one's unit), 5xx, expiry.
            emu.faults.inject("rate_limit", path_prefix="/_sample/jobs", count=2, retry_after=0.05)
            emu.faults.inject("server_error", path_prefix="/_sample/jobs/", status=503)
            emu.faults.inject("html_error", path_prefix="/_sample/jobs/")
            emu.expire_tokens("sentinelhub")

            jobs = {
                "mosaic": await submit_sample_job(
                    sh, phases=[("QUEUED", 3), ("RUNNING", 12)], results=9, page_size=4
                ),
                "broken": await submit_sample_job(
                    sh, phases=[("QUEUED", 2), ("RUNNING", 5)], outcome="FAILED", error="no data in AOI"
                ),
                "too-long": await submit_sample_job(sh, phases=[("QUEUED", 3600), ("RUNNING", 3600)]),
            }
            for name, job in jobs.items():
                emit("job.submitted", job=name, id=job.id)

            results: dict[str, Any] = {}
            async with anyio.create_task_group() as tg:
                for name, job in jobs.items():
                    tg.start_soon(_follow, name, job, emit, results)
                await anyio.sleep(0.3)
                cancelled = await jobs["too-long"].cancel()
                emit("job.cancel", job="too-long", service_stopped=cancelled)

            # Re-attach to a job from its resume token, as another process would.
            late = await submit_sample_job(sh, phases=[("QUEUED", 2), ("RUNNING", 4)], results=3)
            token = late.resume_token
            emit("job.resume_token", job="late", token=json.loads(token))
            async with SentinelHub(
                creds.sh_client_id,
                creds.sh_client_secret,
                base_url=emu.sentinelhub_url,
                token_url=emu.sentinelhub_token_url,
                retry=retry,
                poll=poll,
            ) as other:
                items = [item async for item in other.resume_job(token).results()]
            results["late"] = {"items": len(items), "resumed": True}
            emit("job.result", job="late", **results["late"])

        faults = [r.fault for r in emu.requests if r.fault]
        summary = {
            "jobs": results,
            "requests": len(emu.requests),
            "faults_survived": faults,
            "token_requests": emu.token_requests(),
        }
        emit("demo.done", **summary)
        return summary

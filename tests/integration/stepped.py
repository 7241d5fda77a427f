"""Seeing every phase of an emulated job, however slow the machine.

On the accelerated clock a phase lasts milliseconds: on a loaded machine the
client's polls can miss it, and a test that expects to see it fails. Here the
clock stands still and moves to the next phase only once the client has
polled the current one::

    with frozen_clock(eo_emulator):
        job = await sk.imagery.search_job(...)
        statuses = await step_through(job, eo_emulator)   # one status per phase, in order
    page = await job
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eoclient.emulator import Emulator
from eoclient.jobs import Job, JobStatus

FROZEN = 1e-9
"""A clock speed at which nothing moves during a test unless the test advances it."""


@contextmanager
def frozen_clock(emu: Emulator) -> Iterator[None]:
    """The emulated clock stands still inside; its speed is restored after."""
    speed = emu.clock.speed
    emu.clock.speed = FROZEN
    try:
        yield
    finally:
        emu.clock.speed = speed


async def step_through(job: Job[Any], emu: Emulator) -> list[JobStatus]:
    """``job``'s status in each phase, up to the terminal one: polled once per phase.

    ``job`` must be a job of ``emu``'s engine (SpaceKnow pipelines, the sample job
    API); the clock is moved just past each phase's end after it was polled.
    """
    emulated = emu.state.jobs.get(job.id)
    assert emulated is not None, f"{job.id} is not a job of this emulator's engine"
    statuses = [job.status if job.status is not None else await job.refresh()]
    while not statuses[-1].state.terminal:
        left = emulated.view().next_change_in
        if left is not None:
            emu.clock.advance(left + 0.001)  # past the end, whatever the float rounding
        statuses.append(await job.refresh())
    return statuses

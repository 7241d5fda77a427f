"""A generic, lazily evaluated job state machine on the emulated clock.

Every long-running operation the emulator plays (Async Process, Batch v2,
Batch Statistical, SpaceKnow pipelines, the sample job API) is a :class:`Job`:
a schedule of ``(state, emulated seconds)`` phases followed by a final
outcome. Nothing runs in the background: the state is computed from the clock
whenever someone looks, so a job is free when nobody polls it.

Name phases and outcomes with the service's own status names (``"CREATED"``,
``"PROCESSING"``, ``"DONE"``; or ``"NEW"``, ``"PROCESSING"``, ``"RESOLVED"``);
where one generic job must answer with two vocabularies, map
:attr:`JobView.state` through a dict with :meth:`JobView.state_in`.

Example::

    job = state.jobs.create(
        "batch",
        phases=[Phase("CREATED", 5), Phase("ANALYSING", 20, "splitting tiles"),
                Phase("PROCESSING", 120)],
        outcome="DONE",
    )
    view = job.view()
    seconds = state.clock.to_real(view.next_change_in or 0.0)
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eoclient.emulator.core.clock import EmulatorClock

__all__ = ["Job", "JobEngine", "JobView", "Phase"]

_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Phase:
    """One non-terminal phase: a state name held for ``duration`` emulated seconds."""

    state: str
    duration: float
    message: str | None = None

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError(f"phase {self.state!r} has a negative duration")


@dataclass(frozen=True)
class JobView:
    """A job as seen at one emulated instant.

    ``step`` is the index of the current phase (``len(phases)`` once terminal);
    ``next_change_in`` is the emulated seconds until the state changes, ``None``
    once terminal; ``progress`` runs 0..1 over the whole schedule.
    """

    id: str
    kind: str
    state: str
    step: int
    progress: float
    message: str | None
    next_change_in: float | None
    terminal: bool
    cancelled: bool
    error: str | None
    elapsed: float

    def state_in(self, names: Mapping[str, str]) -> str:
        """Return :attr:`state` translated through ``names`` (unknown names unchanged)."""
        return names.get(self.state, self.state)


@dataclass(eq=False)
class Job:
    """One job. Create through :meth:`JobEngine.create`.

    ``result`` holds whatever the service module wants to return once the
    job succeeded; ``data`` is free room for service-specific fields (the
    original request, output locations, ...).
    """

    id: str
    kind: str
    created_at: float
    phases: tuple[Phase, ...]
    outcome: str
    clock: EmulatorClock = field(repr=False)
    error: str | None = None
    result: Any = None
    outcome_message: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    cancelled_at: float | None = None
    cancelled_state: str | None = None

    @property
    def duration(self) -> float:
        """Total emulated seconds from creation to the outcome."""
        return sum(p.duration for p in self.phases)

    def view(self, now: float | None = None) -> JobView:
        """Compute the job's state at emulated time ``now`` (default: the clock's now)."""
        at = self.clock.now() if now is None else now
        if self.cancelled_at is not None and at >= self.cancelled_at:
            return self._cancelled_view(at)
        return self._scheduled_view(at)

    def _scheduled_view(self, at: float) -> JobView:
        elapsed = max(0.0, at - self.created_at)
        total = self.duration
        start = 0.0
        for step, phase in enumerate(self.phases):
            end = start + phase.duration
            if elapsed < end:
                progress = elapsed / total if total else 0.0
                return self._view(
                    phase.state, step, progress, elapsed, phase.message, next_change_in=end - elapsed
                )
            start = end
        return self._view(
            self.outcome, len(self.phases), 1.0, elapsed, self.outcome_message, error=self.error
        )

    def _cancelled_view(self, at: float) -> JobView:
        assert self.cancelled_at is not None
        assert self.cancelled_state is not None
        frozen = self._scheduled_view(self.cancelled_at)  # progress stops where it was cancelled
        elapsed = max(0.0, at - self.created_at)
        return self._view(self.cancelled_state, frozen.step, frozen.progress, elapsed, None, cancelled=True)

    def _view(
        self,
        state: str,
        step: int,
        progress: float,
        elapsed: float,
        message: str | None,
        *,
        next_change_in: float | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> JobView:
        """This job's view in ``state``; with no ``next_change_in`` the state is final."""
        return JobView(
            id=self.id,
            kind=self.kind,
            state=state,
            step=step,
            progress=progress,
            message=message,
            next_change_in=next_change_in,
            terminal=next_change_in is None,
            cancelled=cancelled,
            error=error,
            elapsed=elapsed,
        )

    def is_terminal(self, now: float | None = None) -> bool:
        """Whether the job has reached its outcome or was cancelled."""
        return self.view(now).terminal

    def cancel(self, state: str = "CANCELLED", now: float | None = None) -> bool:
        """Cancel the job: from ``now`` on it is in ``state``.

        Returns ``False`` (and changes nothing) if it was already terminal.
        """
        at = self.clock.now() if now is None else now
        if self.view(at).terminal:
            return False
        self.cancelled_at = at
        self.cancelled_state = state
        return True


class JobEngine:
    """Creates and finds jobs; ids come from a seeded RNG (reproducible runs)."""

    def __init__(self, clock: EmulatorClock, rng: random.Random) -> None:
        self.clock = clock
        self._rng = rng
        self._jobs: dict[str, Job] = {}

    def new_id(self, length: int | None = None) -> str:
        """A fresh id: a UUID4 string by default (Sentinel Hub), or ``length``
        letters and digits (SpaceKnow pipeline ids are 20 characters)."""
        while True:
            if length is None:
                candidate = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            else:
                if length < 1:
                    raise ValueError("id length must be >= 1")
                candidate = "".join(self._rng.choice(_ID_ALPHABET) for _ in range(length))
            if candidate not in self._jobs:
                return candidate

    def create(
        self,
        kind: str,
        phases: Iterable[Phase | tuple[str, float] | Sequence[Any]],
        outcome: str,
        *,
        error: str | None = None,
        result: Any = None,
        outcome_message: str | None = None,
        id: str | None = None,
        id_length: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Job:
        """Create a job starting now on the emulated clock.

        ``phases`` accepts :class:`Phase` objects or ``(state, seconds[, message])``
        tuples. ``id`` forces an id; otherwise see :meth:`new_id`.
        """
        schedule = tuple(p if isinstance(p, Phase) else Phase(*p) for p in phases)
        job_id = id if id is not None else self.new_id(id_length)
        if job_id in self._jobs:
            raise ValueError(f"a job with id {job_id!r} exists already")
        job = Job(
            id=job_id,
            kind=kind,
            created_at=self.clock.now(),
            phases=schedule,
            outcome=outcome,
            clock=self.clock,
            error=error,
            result=result,
            outcome_message=outcome_message,
            data=dict(data or {}),
        )
        self._jobs[job_id] = job
        return job

    def get(self, job_id: str, kind: str | None = None) -> Job | None:
        """The job with ``job_id`` (and of ``kind``, if given), or ``None``."""
        job = self._jobs.get(job_id)
        if job is None or (kind is not None and job.kind != kind):
            return None
        return job

    def all(self, kind: str | None = None) -> list[Job]:
        """Every job (of ``kind``), oldest first."""
        return [j for j in self._jobs.values() if kind is None or j.kind == kind]

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)

"""The generic job engine, evaluated at explicit emulated instants."""

from __future__ import annotations

import random
import uuid

import pytest

from eoclient.emulator import EmulatorClock, JobEngine, Phase


@pytest.fixture
def engine() -> JobEngine:
    return JobEngine(EmulatorClock(start=1_000.0), random.Random(1))


def test_phases_then_success(engine: JobEngine) -> None:
    job = engine.create(
        "batch",
        [Phase("CREATED", 2, "queued"), ("PROCESSING", 8, "tiles"), ("FINALIZING", 0)],
        "DONE",
        result={"tiles": 3},
    )
    t0 = job.created_at
    view = job.view(t0)
    assert (view.state, view.step, view.message, view.terminal) == ("CREATED", 0, "queued", False)
    assert view.progress == 0.0
    assert view.next_change_in == pytest.approx(2.0)
    view = job.view(t0 + 6)
    assert (view.state, view.step, view.message) == ("PROCESSING", 1, "tiles")
    assert view.progress == pytest.approx(0.6)
    assert view.next_change_in == pytest.approx(4.0)
    view = job.view(t0 + 10)  # zero-length phases are skipped
    assert (view.state, view.terminal, view.progress, view.next_change_in) == ("DONE", True, 1.0, None)
    assert view.error is None
    assert job.result == {"tiles": 3}
    assert job.duration == 10


def test_failure_carries_error(engine: JobEngine) -> None:
    job = engine.create("async", [("RUNNING", 1)], "FAILED", error="out of memory")
    view = job.view(job.created_at + 1)
    assert (view.state, view.error, view.terminal) == ("FAILED", "out of memory", True)
    assert job.view(job.created_at).error is None


def test_clock_drives_default_view(engine: JobEngine) -> None:
    job = engine.create("k", [("A", 5), ("B", 5)], "RESOLVED")
    assert job.view().state == "A"
    engine.clock.advance(5)
    assert job.view().state == "B"
    engine.clock.advance(5)
    assert job.is_terminal()
    assert job.view().state_in({"RESOLVED": "DONE"}) == "DONE"
    assert job.view().state_in({}) == "RESOLVED"


def test_cancel(engine: JobEngine) -> None:
    job = engine.create("k", [("QUEUED", 2), ("RUNNING", 8)], "SUCCEEDED")
    t0 = job.created_at
    assert job.cancel("STOPPED", now=t0 + 4)
    view = job.view(t0 + 100)
    assert (view.state, view.terminal, view.cancelled) == ("STOPPED", True, True)
    assert view.progress == pytest.approx(0.4)  # frozen where it stopped
    assert view.next_change_in is None
    assert job.view(t0 + 1).state == "QUEUED"  # history before the cancel is unchanged
    assert not job.cancel(now=t0 + 200)  # already terminal


def test_cancel_after_outcome_refused(engine: JobEngine) -> None:
    job = engine.create("k", [("RUNNING", 1)], "SUCCEEDED")
    assert not job.cancel(now=job.created_at + 2)
    assert job.view(job.created_at + 2).state == "SUCCEEDED"


def test_empty_schedule_is_terminal_at_once(engine: JobEngine) -> None:
    job = engine.create("k", [], "SUCCEEDED")
    assert job.view(job.created_at).terminal


def test_ids(engine: JobEngine) -> None:
    sh = engine.create("k", [], "DONE")
    assert uuid.UUID(sh.id).version == 4
    sk = engine.create("pipeline", [], "RESOLVED", id_length=20)
    assert len(sk.id) == 20 and sk.id.isalnum()
    fixed = engine.create("k", [], "DONE", id="abc")
    assert engine.get("abc") is fixed
    assert engine.get("abc", kind="other") is None
    assert engine.get("nope") is None
    with pytest.raises(ValueError, match="exists"):
        engine.create("k", [], "DONE", id="abc")
    assert [j.id for j in engine.all("k")] == [sh.id, "abc"]
    assert len(engine) == 3


def test_ids_reproducible_with_seed() -> None:
    def ids(seed: int) -> list[str]:
        engine = JobEngine(EmulatorClock(), random.Random(seed))
        return [engine.create("k", [], "DONE", id_length=20).id for _ in range(3)]

    assert ids(5) == ids(5)
    assert ids(5) != ids(6)


def test_negative_phase_rejected(engine: JobEngine) -> None:
    with pytest.raises(ValueError, match="negative"):
        engine.create("k", [("A", -1)], "DONE")

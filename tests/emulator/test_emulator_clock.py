"""The accelerated clock."""

from __future__ import annotations

import time

import pytest

from eoclient.emulator import EmulatorClock


def test_starts_at_real_time_and_runs_faster() -> None:
    before = time.time()
    clock = EmulatorClock(speed=1000.0)
    start = clock.now()
    assert start >= before - 1
    time.sleep(0.01)
    assert clock.now() - start >= 5.0  # 10 ms real is ~10 s emulated


def test_advance_and_conversions() -> None:
    clock = EmulatorClock(speed=50.0, start=1_000.0)
    clock.advance(3600)
    assert clock.now() >= 4_600.0
    assert clock.to_real(100.0) == pytest.approx(2.0)
    assert clock.to_real(-5.0) == 0.0
    assert clock.to_emulated(2.0) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_speed_change_never_jumps() -> None:
    clock = EmulatorClock(speed=1.0, start=0.0)
    clock.advance(10)
    before = clock.now()
    clock.speed = 1e6
    assert clock.speed == 1e6
    after = clock.now()
    assert before <= after < before + 1_000  # no retroactive acceleration
    clock.speed = 2.0
    assert clock.to_real(4.0) == pytest.approx(2.0)


@pytest.mark.parametrize("speed", [0.0, -1.0])
def test_invalid_speed(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        EmulatorClock(speed)
    clock = EmulatorClock()
    with pytest.raises(ValueError, match="speed"):
        clock.speed = speed

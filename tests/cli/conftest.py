"""An emulator in a thread of its own, and the environment a user would set to reach it.

The CLI runs its own event loop (``anyio.run`` in ``main``), so the emulator
cannot share the test's loop: it serves from a background thread's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from eoclient.cli.cmd_emulator import environment
from eoclient.emulator import Emulator


class ThreadedEmulator:
    """An :class:`Emulator` started in a thread; ``env`` points the client at it."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.env: dict[str, str] = {}
        self.emulator: Emulator | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Emulator(**self._kwargs) as emu:
            self.emulator = emu
            self.env = environment(emu)
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ThreadedEmulator:
        self._thread.start()
        assert self._ready.wait(30), "the emulator did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def served() -> Iterator[ThreadedEmulator]:
    with ThreadedEmulator(seed=3, clock_speed=2000.0) as emu:
        yield emu


@pytest.fixture
def emu_env(served: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> dict[str, str]:
    """The user's environment: the emulator's variables, and no config file of the machine's."""
    for name in ("EOCLIENT_CONFIG", "EOCLIENT_PROFILE", "SH_PROFILE", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name, value in served.env.items():
        monkeypatch.setenv(name, value)
    return served.env

"""Shared test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import structlog


class SleepRecorder:
    """A stand-in for asyncio.sleep that records durations and yields control once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def _server_side(task: asyncio.Task[object]) -> bool:
    """Tasks of the in-process emulator (aiohttp's web server) are not the client's."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return "aiohttp/web_" in filename.replace("\\", "/")


@pytest.fixture
def no_leaked_tasks() -> Callable[[], None]:
    """Returns a checker asserting that no client-side task but the current one is alive."""

    def check() -> None:
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done() and not _server_side(t)]
        assert others == [], others

    return check


@pytest.fixture(autouse=True)
def _fresh_structlog():
    """structlog.testing.capture_logs leaves structlog 'configured'; undo it between tests."""
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def s3():
    """A real S3 server (moto's server mode) on 127.0.0.1 for the whole session (see tests/s3server.py)."""
    from tests.s3server import start_server

    server, process = start_server()
    try:
        yield server
    finally:
        process.stop()

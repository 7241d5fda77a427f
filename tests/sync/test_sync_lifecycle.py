"""The sync clients' loop thread: first use, close, exit, inside a running loop; and their errors."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import eoclient
import eoclient.sync
from eoclient.errors import (
    APIError,
    AuthenticationError,
    ClientClosedError,
    NotFoundError,
    ValidationError,
)
from tests.integration.test_arrays_process import request as process_request
from tests.sync.conftest import ThreadedEmulator

S2 = "sentinel-2-l2a"


def loop_threads() -> set[threading.Thread]:
    """A client's loop thread and its keeper (not the helper a collected client stops in)."""
    return {
        t for t in threading.enumerate() if t.name.startswith("eoclient-") and not t.name.endswith("-stop")
    }


def recorded(emulator: ThreadedEmulator, prefix: str) -> int:
    return emulator.call(lambda: sum(r.path.startswith(prefix) for r in emulator.emu.requests))


# -- lifecycle ----------------------------------------------------------------------------------------------


def test_the_loop_starts_on_first_use_and_stops_on_close(emulator: ThreadedEmulator) -> None:
    before = loop_threads()
    sh = emulator.sentinelhub()
    assert loop_threads() == before  # constructing starts nothing
    listing = sh.catalog.search(S2, datetime="2020-06", max_items=3)
    assert len(listing.collect()) == 3
    started = loop_threads() - before
    assert len(started) == 2  # the loop's thread and the one keeping its portal open
    assert not sh.closed
    sh.close()
    assert not any(t.is_alive() for t in started) and sh.closed
    sh.close()  # idempotent
    with pytest.raises(ClientClosedError):
        sh.catalog.collection(S2)
    with pytest.raises(ClientClosedError):  # what it handed out is closed with it
        listing.collect()


def test_with_opens_and_closes(emulator: ThreadedEmulator) -> None:
    before = loop_threads()
    with emulator.sentinelhub() as sh:
        started = loop_threads() - before  # by `with`, before any call
        assert started and sh.catalog.collection(S2).id == S2
    assert not any(t.is_alive() for t in started) and sh.closed
    with pytest.raises(ClientClosedError), sh:
        pass  # a closed client does not start again


def test_a_forgotten_client_is_closed_when_collected_and_its_objects_keep_it_alive(
    emulator: ThreadedEmulator,
) -> None:
    before = loop_threads()
    listing = emulator.sentinelhub().catalog.search(S2, datetime="2020-06", max_items=2)
    gc.collect()
    assert len(listing.collect()) == 2  # the client behind it was not collected: the listing holds it
    started = loop_threads() - before
    del listing
    gc.collect()
    for thread in started:
        thread.join(30)
        assert not thread.is_alive()


def test_calls_from_many_threads_share_one_loop(sh: eoclient.sync.SentinelHub) -> None:
    results: list[int] = []

    def work() -> None:
        results.append(len(sh.catalog.search(S2, datetime="2020-06", max_items=4).collect()))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [4] * 6


# -- inside a running event loop (Jupyter) ------------------------------------------------------------------


def test_sync_calls_inside_a_running_event_loop(emulator: ThreadedEmulator) -> None:
    async def notebook_cell() -> tuple[int, tuple[int, ...]]:
        asyncio.get_running_loop()  # a loop runs in this thread, as in Jupyter
        with emulator.sentinelhub() as sh:
            found = sh.catalog.search(S2, datetime="2020-06", max_items=5).collect()
            shape = sh.process(process_request()).to_numpy().shape
        return len(found), shape

    assert asyncio.run(notebook_cell()) == (5, (40, 70, 3))


# -- errors -------------------------------------------------------------------------------------------------


def test_bad_input_is_the_same_validation_error_before_anything_is_sent(
    sh: eoclient.sync.SentinelHub, emulator: ThreadedEmulator
) -> None:
    bad = process_request()
    bad["output"]["width"] = -3
    with pytest.raises(ValidationError) as info:
        sh.process(bad)
    assert "width" in str(info.value)
    with pytest.raises(ValidationError):
        sh.catalog.search(S2, datetime="2020-06", filter="platform LIKE 'sentinel%'")
    assert recorded(emulator, "/api/v1/process") == recorded(emulator, "/api/v1/catalog") == 0


def test_constructor_arguments_are_checked_before_a_thread_starts() -> None:
    before = loop_threads()
    with pytest.raises(ValidationError) as info:
        eoclient.sync.SentinelHub(
            "id", "sync-never-sent-7", base_url="http://127.0.0.1:9", retry={"attempts": 3}
        )
    assert info.value.field == "retry"
    with pytest.raises(ValidationError):
        eoclient.sync.SpaceKnow.from_async(object())
    assert loop_threads() == before


def test_service_errors_are_the_typed_api_errors(sh: eoclient.sync.SentinelHub) -> None:
    with pytest.raises(NotFoundError) as info:
        sh.batch.get("00000000-0000-0000-0000-000000000000")
    assert isinstance(info.value, APIError) and info.value.status == 404


def test_wrong_credentials(emulator: ThreadedEmulator) -> None:
    with emulator.sentinelhub(client_secret="wrong") as sh, pytest.raises(AuthenticationError):
        sh.authenticate()


# -- interpreter exit ---------------------------------------------------------------------------------------

FORGOTTEN = """
import sys, threading, time
from anyio.from_thread import start_blocking_portal
import eoclient.sync
from eoclient.emulator import Emulator
from eoclient.emulator.clients import sentinelhub_client

async def start():
    return await Emulator(seed=1).__aenter__()

serving = start_blocking_portal(name="emulator")  # kept: dropping it would stop the portal
portal = serving.__enter__()
emu = portal.call(start)
sh = eoclient.sync.SentinelHub.from_async(sentinelhub_client(emu))
print(len(sh.catalog.search("sentinel-2-l2a", datetime="2020-06", max_items=3).collect()))
if sys.argv[1] == "stuck":  # the client's loop is blocked when the interpreter exits
    threading.Thread(target=sh._eo_call, args=(time.sleep, 600), daemon=True).start()
    time.sleep(0.2)
portal.call(emu.__aexit__, None, None, None)
serving.__exit__(None, None, None)
# the client is not closed
"""


@pytest.mark.parametrize("how", ["idle", "stuck"])
def test_a_forgotten_client_does_not_hang_the_interpreter_exit(how: str, tmp_path: Path) -> None:
    script = tmp_path / "forgotten.py"
    script.write_text(textwrap.dedent(FORGOTTEN), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    checkout = str(Path(eoclient.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([checkout, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, "-W", "always", str(script), how],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    if how == "idle":  # closed at exit: no unclosed session or connector reported
        assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr, done.stderr

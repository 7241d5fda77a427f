"""The emulator as a separate process, so that it never shares an event loop (or a GIL) with a client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def emulator_process() -> Iterator[dict[str, Any]]:
    """Start ``python -m eoclient.emulator --port 0``; yield the JSON line it prints (URLs, credentials)."""
    with json_line_server([sys.executable, "-m", "eoclient.emulator", "--port", "0"], "the emulator") as info:
        yield info


@contextmanager
def json_line_server(
    argv: list[str], what: str, env: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Start a server that prints one JSON line when it is ready; yield that line; stop the server."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{what} exited before it was ready (code {proc.wait(10)})")
        yield json.loads(line)
    finally:
        stop(proc)
        proc.stdout.close()


def stop(proc: subprocess.Popen[Any]) -> None:
    """Terminate a server process; kill it if it does not go within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)

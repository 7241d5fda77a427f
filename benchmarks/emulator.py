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
    proc = subprocess.Popen(
        [sys.executable, "-m", "eoclient.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator exited before it was ready (code {proc.wait(10)})")
        yield json.loads(line)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()

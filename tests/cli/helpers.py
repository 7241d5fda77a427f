"""Running the command line in-process and reading what it printed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from eoclient.cli import main


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``eoclient ARGS`` in this process (stdout is captured: not a terminal, so JSON lines)."""
    code = main(["--poll-interval", "0.05", *args] if args and args[0] not in ("config",) else list(args))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)

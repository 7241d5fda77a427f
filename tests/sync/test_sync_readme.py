"""The README's "Without asyncio" block, run as written against the emulator (in a thread of its own).

tests/test_readme.py cannot run it: it serves the emulator from its own event
loop, which a blocking call stalls. Here the emulator has its own loop, and
the block finds it through the README's environment variables.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.sync.conftest import ThreadedEmulator
from tests.test_readme import PYTHON, README, emulator_environment

SYNC_BLOCKS = [b for b in PYTHON if "eoclient.sync." in b.code]


def test_the_readme_has_a_sync_block_marked_as_run_here() -> None:
    assert len(SYNC_BLOCKS) == 1
    assert "tests/sync/test_sync_readme.py" in (SYNC_BLOCKS[0].not_run or "")


@pytest.mark.eo_emulator(clock_speed=20_000.0)
def test_the_readme_sync_block_runs_as_written(
    emulator: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("EOCLIENT_CONFIG", "EOCLIENT_PROFILE", "SH_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator_environment(emulator.emu, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (block,) = SYNC_BLOCKS
    code = compile("\n" * (block.line - 1) + block.code, str(README), "exec")  # tracebacks name README lines
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"__name__": "__readme__"})  # the README's own example
    printed = out.getvalue()
    assert len(re.findall(r"^S2[AB]_MSIL2A_\w+ 2023-06-\d\d", printed, re.MULTILINE)) == 3, printed
    assert re.search(r"^DONE ", printed, re.MULTILINE), printed
    files = sorted((tmp_path / "sync-outputs").rglob("*.tif"))
    assert files and f"{{'time': 1, 'y': 256, 'x': 256, 'band': 3}} {len(files)} files" in printed, printed

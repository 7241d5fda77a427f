"""Import time in fresh interpreters: ``import eoclient`` (and its first use) against ``import sentinelhub``.

Each measurement is a new ``python`` process that reads the clock, runs the
statement and prints the wall time it took (the interpreter's own start-up
is left out: it is the same for both). The statements of one round run back
to back, in reverse order every other round; a warm-up round first, so that
no side pays for writing ``.pyc`` files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
STATEMENTS = {
    "eoclient": "import eoclient",
    # what a program that uses it loads: the lazy package resolves the client on first access
    "eoclient_first_use": "import eoclient; eoclient.SentinelHub",
    "sentinelhub": "import sentinelhub",
}
_TIMER = "import time; t0 = time.perf_counter(); {stmt}; print(time.perf_counter() - t0)"


def wall(stmt: str) -> float:
    """Seconds ``stmt`` took in a fresh interpreter (its start-up excluded)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER.format(stmt=stmt)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{stmt!r} failed: {tail}")
    return float(proc.stdout.strip().splitlines()[-1])


def rounds(names: list[str], n: int) -> list[dict[str, float]]:
    """``n`` rounds of one fresh interpreter per name (alternating order), after one untimed round."""
    for name in names:
        wall(STATEMENTS[name])
    found: list[dict[str, float]] = []
    for i in range(n):
        order = names if i % 2 == 0 else names[::-1]
        found.append({name: wall(STATEMENTS[name]) for name in order})
    return found

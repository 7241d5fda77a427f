"""Children for the interleaving test (tests/test_benchmarks_interleave.py): they log their timed sections."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.measure import Context


def _log(ctx: Context, side: str) -> None:
    log = Path(ctx.params["log"])
    for i in ctx.repeats():
        if ctx.params.get("die_at") == [side, i]:
            raise SystemExit(f"{side} stops at turn {i}")
        with ctx.timed():
            start = time.monotonic()
            time.sleep(ctx.params.get("hang", {}).get(side, 0.02))
            end = time.monotonic()
        with log.open("a") as out:
            out.write(f"{side} {start} {end}\n")
        ctx.fact(sections=1)


def ours(ctx: Context) -> None:
    _log(ctx, "ours")


def floor(ctx: Context) -> None:
    _log(ctx, "floor")

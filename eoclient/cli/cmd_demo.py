"""``demo``: real service jobs against the embedded emulator (``eoclient.demo.run_demo``)."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import click

from eoclient.cli.app import State, common, root
from eoclient.cli.failures import CliError
from eoclient.cli.inputs import folder_for_output

__all__ = ["demo"]


@root.command("demo")
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Seed of the emulator's faults and data."
)
@click.option(
    "--clock-speed", type=float, default=100.0, show_default=True, help="Emulated seconds per real second."
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="Keep the files in this folder.")
@common
def demo(seed: int, clock_speed: float, out_dir: Path | None) -> None:
    """Run real service jobs against the embedded emulator (no credentials, no network)."""
    if not clock_speed > 0:
        raise CliError(f"--clock-speed: must be positive, got {clock_speed}")
    folder = folder_for_output(out_dir) if out_dir is not None else None
    from eoclient.demo import run_demo  # noqa: PLC0415 - starts the emulator: loads only when asked

    # Live progress and a summary table on a terminal; the JSON event stream when piped or --json.
    json_lines = State.get().json or not sys.stdout.isatty()

    async def go() -> None:
        await run_demo(
            seed=seed, clock_speed=clock_speed, out_dir=folder, out=sys.stdout, json_lines=json_lines
        )

    anyio.run(go)

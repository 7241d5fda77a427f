"""The ``eoclient`` command line: thin, on top of the public API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from eoclient import __version__
from eoclient._redact import scrub
from eoclient.errors import ConfigurationError, EOClientError, ValidationError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eoclient", description=__doc__)
    parser.add_argument("--version", action="version", version=f"eoclient {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="run real service jobs against the embedded emulator (no credentials, no network)"
    )
    demo.add_argument("--seed", type=int, default=1, help="seed of the emulator's faults and data")
    demo.add_argument("--clock-speed", type=float, default=100.0, help="emulated seconds per real second")
    demo.add_argument("--out", type=Path, default=None, help="keep the rendered files in this directory")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad input/config, 1 service error, 130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from eoclient.demo import run_demo  # noqa: PLC0415 - starts the emulator: load only when asked

            anyio.run(lambda: run_demo(seed=args.seed, clock_speed=args.clock_speed, out_dir=args.out))
    except (ValidationError, ConfigurationError) as exc:
        print(f"eoclient: {scrub(str(exc))}", file=sys.stderr)
        return 2
    except EOClientError as exc:
        print(f"eoclient: {type(exc).__name__}: {scrub(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

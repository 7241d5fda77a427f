"""``python -m eoclient.emulator``: serve both services until SIGINT/SIGTERM.

Prints one JSON line (URLs and credentials) to stdout once both are listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence

from eoclient.emulator.core.faults import FaultConfig
from eoclient.emulator.server import Emulator

__all__ = ["main", "parse_args", "spaceknow_port"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m eoclient.emulator",
        description="Serve emulated Sentinel Hub and SpaceKnow APIs on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="Sentinel Hub port (default: ephemeral)")
    parser.add_argument(
        "--spaceknow-port",
        type=int,
        default=None,
        help="SpaceKnow port (default: --port + 1, or ephemeral when --port is 0)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock-speed", type=float, default=1.0)
    parser.add_argument("--token-ttl", type=float, default=3600.0, help="real seconds")
    store = parser.add_argument_group("job deliveries (default: the emulator's own S3 API)")
    store.add_argument("--s3-port", type=int, default=0, help="port of the own S3 API (default: ephemeral)")
    store.add_argument(
        "--s3-endpoint", default=None, help="deliver to this S3 server instead (buckets must exist)"
    )
    store.add_argument("--s3-access-key", default=None)
    store.add_argument("--s3-secret-key", default=None)
    store.add_argument("--s3-region", default=None)
    faults = parser.add_argument_group("random faults")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    faults.add_argument("--rate-limit", type=float, default=0.0, help="probability of a 429")
    faults.add_argument("--server-error", type=float, default=0.0, help="probability of a 5xx")
    faults.add_argument("--drop", type=float, default=0.0, help="probability of a drop mid-body")
    return parser.parse_args(argv)


def spaceknow_port(args: argparse.Namespace) -> int:
    """The SpaceKnow port: as given, else ``--port`` + 1, else ephemeral (0)."""
    if args.spaceknow_port is not None:
        return int(args.spaceknow_port)
    return int(args.port) + 1 if args.port > 0 else 0


async def _serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        seed=args.seed,
        clock_speed=args.clock_speed,
        token_ttl=args.token_ttl,
        host=args.host,
        sentinelhub_port=args.port,
        spaceknow_port=spaceknow_port(args),
        s3_port=args.s3_port,
        s3_endpoint=args.s3_endpoint,
        s3_access_key=args.s3_access_key,
        s3_secret_key=args.s3_secret_key,
        s3_region=args.s3_region,
        faults=FaultConfig(
            latency=args.latency,
            rate_limit=args.rate_limit,
            server_error=args.server_error,
            drop_mid_body=args.drop,
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows; there Ctrl-C arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        sys.stdout.write(json.dumps(emulator.info()) + "\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until interrupted; returns the exit status."""
    args = parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # e.g. the port is taken
        sys.stderr.write(f"eoclient emulator: {exc}\n")
        return 1
    except ValueError as exc:  # e.g. fault probabilities out of range
        sys.stderr.write(f"eoclient emulator: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

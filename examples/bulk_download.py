"""Bulk download: a true-colour image of every Sentinel-2 scene a Catalog search finds, to a folder.

Many Process API renders at once, as a script you can stop and run again:

* bounded concurrency (``--concurrency``), with the client's retries for 429s and 5xx;
* paced under your plan's processing-unit and request limits (``--pu-per-minute``,
  ``--requests-per-minute``: an ``eoclient.ProcessingBudget``), and a spending cap for this
  run (``--max-pu``: no render starts once the run has spent that much);
* each image is written to ``<scene id>.<ext>`` atomically (a ``.part`` file renamed when
  complete), so a file that is there is whole: a rerun skips it and renders only what is missing.

Credentials come from ``SH_CLIENT_ID`` / ``SH_CLIENT_SECRET`` (or the config file), as for any
eoclient script::

    python examples/bulk_download.py scenes/ --bbox 13.8,45.8,14.5,46.2 --start 2023-06-01 --end 2023-08-31

Prints one line per scene and a summary; the exit status is 1 when a render failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
from eo_requests import parse_bbox, parse_day, render_request

import eoclient
from eoclient.errors import EOClientError

FORMATS = {"png": "image/png", "tif": "image/tiff", "jpg": "image/jpeg"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the images (created if missing)")
    parser.add_argument("--bbox", default="13.8,45.8,14.5,46.2", help="min_lon,min_lat,max_lon,max_lat")
    parser.add_argument("--start", default="2023-06-01")
    parser.add_argument("--end", default="2023-08-31")
    parser.add_argument("--max-cloud", type=float, default=30.0, help="percent (default: 30)")
    parser.add_argument("--max-scenes", type=int, default=100)
    parser.add_argument("--size", type=int, default=512, help="pixels a side (default: 512)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="png")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pu-per-minute", type=float, default=300.0)
    parser.add_argument("--requests-per-minute", type=float, default=300.0)
    parser.add_argument("--max-pu", type=float, default=None, help="stop starting renders past this")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"{args.out} exists and is not a folder")
    return args


async def main(args: argparse.Namespace) -> int:
    """Search, then render every scene not yet on disk; returns the exit status."""
    bbox = parse_bbox(args.bbox)  # bad input stops here, before anything is sent
    start, end = parse_day(args.start, field="start"), parse_day(args.end, field="end")
    args.out.mkdir(parents=True, exist_ok=True)
    budget = eoclient.ProcessingBudget(
        pu_per_minute=args.pu_per_minute, requests_per_minute=args.requests_per_minute
    )
    counts: Counter[str] = Counter()
    limiter = anyio.CapacityLimiter(args.concurrency)

    async with eoclient.SentinelHub(budget=budget) as sh:
        scenes = sh.catalog.search(
            "sentinel-2-l2a",
            bbox=bbox,
            datetime=(start.isoformat(), end.isoformat()),
            filter=f"eo:cloud_cover <= {args.max_cloud}",
            max_items=args.max_scenes,
        )

        async def render(item: Any) -> None:
            target = args.out / f"{item.id}.{args.format}"
            if target.exists():  # written atomically: if it is there, it is whole
                counts["skipped"] += 1
                return
            async with limiter:
                if args.max_pu is not None and budget.spent >= args.max_pu:
                    counts["left"] += 1  # for the next run
                    return
                # The scene's own footprint on its own day (the Catalog's bbox is WGS84).
                day = item.datetime.date() if item.datetime is not None else start
                request = render_request(item.bbox or bbox, day, size=args.size, fmt=FORMATS[args.format])
                try:
                    info = await sh.process_to_file(request, target)
                except EOClientError as exc:  # one scene failed for good: say so, go on with the others
                    counts["failed"] += 1
                    print(f"failed    {item.id}: {exc}", file=sys.stderr)
                    return
            counts["rendered"] += 1
            print(f"rendered  {target.name} ({info.size} bytes, {info.processing_units} PU)")

        async with anyio.create_task_group() as tg:
            async for item in scenes:  # pages are fetched as the renders start
                counts["found"] += 1
                tg.start_soon(render, item)

    print(
        f"done: found={counts['found']} rendered={counts['rendered']} skipped={counts['skipped']} "
        f"left={counts['left']} failed={counts['failed']} pu={budget.spent:.2f} -> {args.out}"
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args())))
    except EOClientError as exc:  # bad input, credentials, the service refusing the search: one line
        sys.exit(f"error: {exc}")

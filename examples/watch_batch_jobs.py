"""Watch many Batch Process (v2) requests at once, and download each one's outputs as it finishes.

``sh.batch.watch_many(jobs)`` (an ``eoclient.monitor.JobMonitor``) reads the statuses of
all the requests from the service's listing, 100 a page, on one polling cadence,
instead of one status call per job per poll; ``async for job, status in monitor``
yields every change. A request the listing does not show (deleted) ends alone and is
in ``monitor.errors``; the others go on.

Follow requests you already have by id (``python examples/watch_batch_jobs.py ID ID ...``),
or create and start some first (``--create 3``, over ``--bbox``: their ids are printed, so
that you can come back to them later). With ``--download DIR`` each finished request's
files are downloaded to ``DIR/<id>/`` while the others still run (atomic, resumed, skipped
on a rerun; the bucket is read with the ``AWS_*`` variables or your AWS profile)::

    python examples/watch_batch_jobs.py --create 3 --bbox 13.8,45.8,14.0,46.0 --download outputs/

Prints one line per change and a summary; the exit status is 1 when a request did not end DONE.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import anyio
from eo_requests import batch_request, parse_bbox, parse_day

import eoclient
from eoclient.errors import EOClientError
from eoclient.jobs import JobState


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="ids of batch requests to follow")
    parser.add_argument("--create", type=int, default=0, metavar="N", help="create and start N requests")
    parser.add_argument("--bbox", default="13.8,45.8,14.0,46.0", help="of the created requests")
    parser.add_argument("--start", default="2023-06-01")
    parser.add_argument("--end", default="2023-06-30")
    parser.add_argument("--bucket", default=os.environ.get("BATCH_BUCKET", "my-bucket"))
    parser.add_argument("--download", type=Path, default=None, metavar="DIR")
    parser.add_argument("--poll-max", type=float, default=30.0, help="longest pause between rounds (s)")
    args = parser.parse_args(argv)
    if args.create < 0:
        parser.error("--create must not be negative")
    if not args.ids and not args.create:
        parser.error("give request ids to follow, or --create N")
    if args.download is not None and args.download.exists() and not args.download.is_dir():
        parser.error(f"{args.download} exists and is not a folder")
    return args


async def main(args: argparse.Namespace) -> int:
    """Follow the requests to their end; returns the exit status."""
    poll = eoclient.PollPolicy(initial=1.0, multiplier=1.5, max_delay=args.poll_max)
    async with eoclient.SentinelHub(poll=poll) as sh:
        jobs = [sh.batch.job(request_id) for request_id in args.ids]  # bad ids are refused here
        if args.create:
            spec = batch_request(
                parse_bbox(args.bbox),
                parse_day(args.start, field="start"),
                parse_day(args.end, field="end"),
                bucket=args.bucket,
                description="watch_batch_jobs.py",
            )
            for _ in range(args.create):
                job = await sh.batch.run(spec, analyse_first=False)  # created and started
                print(f"created   {job.id}")
                jobs.append(job)

        ended: dict[str, str] = {}
        async with anyio.create_task_group() as downloads:
            async with sh.batch.watch_many(jobs) as monitor:
                async for job, status in monitor:
                    progress = f" {status.progress:.0%}" if status.progress is not None else ""
                    print(f"{job.id} {status.raw}{progress}")
                    if status.state.terminal:
                        ended[job.id] = status.raw
                        if status.state is JobState.SUCCEEDED and args.download is not None:
                            downloads.start_soon(download, job, args.download / job.id)
            for job, error in monitor.errors.items():
                ended[job.id] = "ERROR"
                print(f"{job.id} ERROR {error}", file=sys.stderr)

    done = sum(1 for raw in ended.values() if raw == "DONE")
    print(f"done: jobs={len(jobs)} done={done} other={len(ended) - done} rounds={monitor.rounds}")
    return 0 if done == len(jobs) else 1


async def download(job: Any, folder: Path) -> None:
    """Download what ``job`` delivered into ``folder``; a failure is reported, the other jobs go on."""
    try:
        report = await job.download(folder, concurrency=8)
    except EOClientError as exc:
        print(f"{job.id} download failed: {exc}", file=sys.stderr)
        return
    print(
        f"{job.id} downloaded {len(report.downloaded)} files ({report.bytes} bytes), "
        f"{len(report.skipped)} already there, {len(report.failures)} failed"
    )


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args())))
    except EOClientError as exc:  # bad input, credentials, a refused create: one line
        sys.exit(f"error: {exc}")

"""``batch`` (Batch Process API v2) and ``batch-stats`` (Batch Statistical API): the same verbs for both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from eoclient import Job, SentinelHub
from eoclient.bulk import Failure
from eoclient.cli.app import State, common, root, run, sentinelhub
from eoclient.cli.cmd_sentinelhub import positive
from eoclient.cli.failures import EXIT_FAILED, CliError
from eoclient.cli.inputs import folder_for_output, read_json
from eoclient.cli.output import Column, follow

__all__ = ["batch_group", "batch_stats_group"]


@dataclass(frozen=True)
class _Kind:
    """How one of the two families does each verb (given an open client)."""

    label: str
    family: Callable[[SentinelHub], Any]
    create: Callable[[SentinelHub, dict[str, Any], bool], Awaitable[Any]]  # -> record or Job
    attach: Callable[[SentinelHub, str, bool], Job[Any]]  # the job of an id (start at ANALYSIS_DONE?)
    listing: Callable[[SentinelHub, int | None], Any]
    progress_key: str


async def _create_batch(sh: SentinelHub, body: dict[str, Any], start: bool) -> Any:
    return await sh.batch.run(body) if start else await sh.batch.create(body)


async def _create_stats(sh: SentinelHub, body: dict[str, Any], start: bool) -> Any:
    job = await sh.batch_statistics.create(body, start=start)
    return job if start else await sh.batch_statistics.get(job.id)


BATCH = _Kind(
    "batch",
    lambda sh: sh.batch,
    _create_batch,
    lambda sh, rid, start: sh.batch.job(rid, start=start),
    lambda sh, n: sh.batch.requests(sort="created:desc", max_items=n),
    "completionPercentage",
)
STATS = _Kind(
    "batch-stats",
    lambda sh: sh.batch_statistics,
    _create_stats,
    lambda sh, rid, start: sh.batch_statistics.job(rid),
    lambda sh, n: sh.batch_statistics.list(sort="created:desc", max_items=n),
    "completionPercentage",
)


def _summary(record: Any) -> dict[str, Any]:
    from eoclient.cli.output import plain  # noqa: PLC0415 - same package, kept local for clarity

    data = plain(record)
    return {
        k: data.get(k) for k in ("id", "status", "description", "created", "error", "costPU") if k in data
    }


def _add_verbs(group: click.Group, kind: _Kind) -> None:  # noqa: PLR0915 - one small function per verb
    """The verbs of ``kind`` as commands of ``group``."""

    @group.command("create")
    @click.argument("request")
    @click.option("--start", is_flag=True, help="Analyse and start it as well.")
    @click.option("--wait", is_flag=True, help="Follow it to its end (implies --start).")
    @common
    def create(request: str, start: bool, wait: bool) -> None:
        """Create a request from a JSON file (- for stdin); it is not processed unless --start."""
        body = read_json(request)
        out = State.get().out

        async def go() -> None:
            async with sentinelhub() as sh:
                made = await kind.create(sh, body, start or wait)
                if isinstance(made, Job):
                    out.record({"id": made.id, "resume_token": made.resume_token}, title=f"{kind.label} job")
                    if wait:
                        out.record(_summary(await follow(made, out, kind.label)), title="Finished")
                else:
                    out.record(_summary(made), title="Created")

        run(go)

    @group.command("list")
    @click.option("--max-items", type=int, default=50, show_default=True, callback=positive)
    @common
    def listing(max_items: int) -> None:
        """The account's requests, newest first."""
        out = State.get().out

        async def go() -> None:
            async with sentinelhub() as sh:
                columns = [
                    Column("id", "id"),
                    Column("status", "status"),
                    Column("created", "created"),
                    Column("description", "description"),
                ]
                with out.rows(columns, title=f"{kind.label} requests") as add:
                    async for item in kind.listing(sh, max_items):
                        add(item if out.json_lines else _summary(item))

        run(go)

    @group.command("get")
    @click.argument("request_id")
    @common
    def get(request_id: str) -> None:
        """One request, as the service describes it."""
        out = State.get().out

        async def go() -> None:
            async with sentinelhub() as sh:
                got = await kind.family(sh).get(request_id)
            out.record(got if out.json_lines else _summary(got), title=kind.label)

        run(go)

    for verb, help_text in (
        ("analyse", "Ask for the analysis of a created request."),
        ("start", "Start processing (after the analysis, or resume a stopped request)."),
        ("stop", "Stop a request."),
    ):

        @group.command(verb, help=help_text)
        @click.argument("request_id")
        @common
        def action(request_id: str, _verb: str = verb) -> None:
            out = State.get().out

            async def go() -> None:
                async with sentinelhub() as sh:
                    await getattr(kind.family(sh), _verb)(request_id)
                out.record({"id": request_id, "action": _verb, "sent": True})

            run(go)

    @group.command("wait")
    @click.argument("request_id")
    @click.option("--start", is_flag=True, help="Start it once analysed (batch).")
    @click.option("--timeout", type=float, help="Give up after this many seconds (exit 1).")
    @common
    def wait(request_id: str, start: bool, timeout: float | None) -> None:
        """Follow a request to its end with a progress bar; exit 1 if it failed or was stopped."""
        if timeout is not None and timeout <= 0:
            raise CliError(f"--timeout: must be positive, got {timeout}")
        out = State.get().out

        async def go() -> None:
            async with sentinelhub() as sh:
                job = kind.attach(sh, request_id, start)
                async with out.job_progress(kind.label) as update:
                    async for status in job.watch(timeout):
                        update(job.id, status)
                out.record(_summary(await job), title="Finished")

        run(go)

    @group.command("outputs")
    @click.argument("request_id")
    @common
    def outputs(request_id: str) -> None:
        """The objects the request delivered to object storage (the s3 extra reads them)."""
        out = State.get().out

        async def go() -> None:
            async with sentinelhub() as sh:
                job = kind.attach(sh, request_id, False)
                columns = [
                    Column("key", "key"),
                    Column("bytes", "size"),
                    Column("tile", "tile"),
                    Column("output", "output"),
                ]
                with out.rows(columns, title="Outputs") as add:
                    async for obj in job.outputs():
                        add(
                            {
                                "bucket": obj.bucket,
                                "key": obj.key,
                                "size": obj.size,
                                "tile": obj.tile,
                                "output": obj.output,
                                "feature": obj.feature,
                            }
                        )

        run(go)

    @group.command("download")
    @click.argument("request_id")
    @click.option(
        "-o",
        "--out",
        "out_dir",
        type=click.Path(path_type=Path),
        required=True,
        help="The folder to download into.",
    )
    @click.option("--concurrency", type=int, default=8, show_default=True, callback=positive)
    @click.option("--overwrite", is_flag=True, help="Download again files already complete on disk.")
    @common
    def download(request_id: str, out_dir: Path, concurrency: int, overwrite: bool) -> None:
        """Download every output of the request (while it runs, and after) into a folder."""
        folder = folder_for_output(out_dir)
        out = State.get().out

        async def go() -> None:
            files = failures = size = 0
            async with sentinelhub() as sh:
                job = kind.attach(sh, request_id, False)
                async with out.counter("downloading") as advance:
                    async for got in job.download_each(folder, concurrency=concurrency, overwrite=overwrite):
                        if isinstance(got, Failure):
                            failures += 1
                            advance({"event": "failed", "key": got.item.name, "error": str(got.error)})
                        else:
                            files += 1
                            size += 0 if got.skipped else got.bytes
                            advance(
                                {
                                    "event": "file",
                                    "path": got.path,
                                    "bytes": got.bytes,
                                    "skipped": got.skipped,
                                }
                            )
            out.message(f"{files} files ({size} bytes) in {folder}, {failures} failed")
            if failures:
                raise CliError(f"{failures} downloads failed", EXIT_FAILED)

        run(go)


@root.group("batch")
def batch_group() -> None:
    """The Batch Process API (v2): large areas, delivered to object storage."""


@root.group("batch-stats")
def batch_stats_group() -> None:
    """The Batch Statistical API: statistics over many features."""


_add_verbs(batch_group, BATCH)
_add_verbs(batch_stats_group, STATS)

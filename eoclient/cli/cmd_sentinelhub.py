"""Sentinel Hub commands: ``catalog search``, ``process``, ``async-process``, ``byoc``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from eoclient import RetryPolicy, SentinelHub
from eoclient.bulk import Body, Failure, complete_size, download_all
from eoclient.cli.app import State, common, root, run, sentinelhub
from eoclient.cli.failures import EXIT_FAILED, CliError
from eoclient.cli.inputs import file_for_output, folder_for_output, parse_area, read_json, read_requests
from eoclient.cli.output import Column, follow
from eoclient.sentinelhub.prepared import prepare_process

__all__ = ["async_process_group", "byoc_group", "catalog_group", "process"]

_EXTENSIONS = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
    "application/tar": "tar",
    "application/x-tar": "tar",
}


def positive(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Refuse zero and negative counts before anything runs."""
    del ctx
    if value is not None and value < 1:
        raise click.BadParameter(f"must be at least 1, got {value}", param=param)
    return value


# -- catalog ---------------------------------------------------------------------------------------


@root.group("catalog")
def catalog_group() -> None:
    """The STAC catalog: search scenes."""


@catalog_group.command("search")
@click.argument("collections", nargs=-1, required=True)
@click.option("--bbox", metavar="MINX,MINY,MAXX,MAXY", help="Area in WGS84.")
@click.option("--geometry", metavar="FILE", help="Area as a GeoJSON file (- for stdin).")
@click.option("--datetime", "when", metavar="FROM/TO", help="An RFC 3339 time or interval (open end: ..).")
@click.option("--filter", "cql2", metavar="CQL2", help="A CQL2 text filter, e.g. 'eo:cloud_cover < 20'.")
@click.option("--max-items", type=int, callback=positive, help="Stop after this many items.")
@common
def catalog_search(
    *,
    collections: tuple[str, ...],
    bbox: str | None,
    geometry: str | None,
    when: str | None,
    cql2: str | None,
    max_items: int | None,
) -> None:
    """Search COLLECTIONS; one GeoJSON Feature per line (a table on a terminal)."""
    box, geo = parse_area(bbox, geometry)
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            items = sh.catalog.search(
                list(collections), bbox=box, intersects=geo, datetime=when, filter=cql2, max_items=max_items
            )
            columns = [
                Column("id", "id"),
                Column("collection", "collection"),
                Column("datetime", "datetime"),
                Column("cloud cover", "cloud"),
            ]
            with out.rows(columns, title="Catalog items") as add:
                async for item in items:
                    if out.json_lines:
                        add(item)
                    else:
                        props = item.properties
                        add(
                            {
                                "id": item.id,
                                "collection": item.collection,
                                "datetime": props.get("datetime"),
                                "cloud": props.get("eo:cloud_cover"),
                            }
                        )

    run(go)


# -- process ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Render:
    """A bulk :class:`~eoclient.bulk.Source`: one Process request, rendered by ``sh.process``."""

    sh: SentinelHub
    request: dict[str, Any]
    label: str

    @property
    def name(self) -> str:
        return self.label

    @asynccontextmanager
    async def open(self, offset: int, *, validator: str | None, chunk_size: int) -> AsyncIterator[Body]:
        del offset, validator, chunk_size  # a render cannot continue at an offset: the whole body again
        result = await self.sh.process(self.request)

        async def chunks() -> AsyncIterator[bytes]:
            yield result.content

        yield Body(0, chunks(), len(result.content))

    async def current(self, path: Path) -> int | None:
        # Files appear only when complete (the engine writes atomically): one there is done.
        return await complete_size(path)

    async def completed(self, path: Path) -> None:
        return None


@root.command("process")
@click.argument("requests", nargs=-1, required=True)
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The output file (one request) or folder (several requests).",
)
@click.option(
    "--concurrency",
    type=int,
    default=4,
    show_default=True,
    callback=positive,
    help="Renders at a time (several requests).",
)
@click.option("--overwrite", is_flag=True, help="Render again outputs already in the folder.")
@common
def process(requests: tuple[str, ...], out_path: Path, concurrency: int, overwrite: bool) -> None:
    """Render Process API REQUESTS (JSON files; - for stdin).

    One request object goes to the file --out. Several files, a JSON array or
    a folder of *.json files go to the folder --out, one file per request,
    rendered concurrently; requests already rendered there are skipped.
    """
    named, several = read_requests(requests)
    prepared = [(name, req, prepare_process(req)) for name, req in named]  # every request checked first
    out = State.get().out
    if not several:
        target = file_for_output(out_path)

        async def one() -> None:
            async with sentinelhub() as sh:
                info = await sh.process_to_file(named[0][1], target)
            out.record(
                {
                    "path": info.path,
                    "bytes": info.size,
                    "content_type": info.content_type,
                    "processing_units": info.processing_units,
                },
                title="Rendered",
            )

        run(one)
        return
    folder = folder_for_output(out_path)

    async def many() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        async with sentinelhub() as sh:
            items = [
                (_Render(sh, req, name), folder / f"{name}.{_EXTENSIONS.get(prep.accept, 'bin')}")
                for name, req, prep in prepared
            ]
            async with out.counter("rendering", total=len(items)) as advance:

                def show(outcome: Any) -> None:
                    if isinstance(outcome, Failure):
                        advance({"path": outcome.item.dest, "error": str(outcome.error)})
                    else:
                        advance({"path": outcome.path, "bytes": outcome.bytes, "skipped": outcome.skipped})

                # The client's transport already retries each render; the engine does not again.
                report = await download_all(
                    None,
                    items,
                    concurrency=concurrency,
                    overwrite=overwrite,
                    on_item=show,
                    policy=RetryPolicy.never(),
                    operation="process",
                )
        out.message(
            f"{len(report.downloaded)} rendered, {len(report.skipped)} already there, "
            f"{len(report.failures)} failed, {report.bytes} bytes in {folder}"
        )
        if report.failures:
            first = report.failures[0]
            raise CliError(
                f"{len(report.failures)} of {len(items)} renders failed; first: "
                f"{first.item.name}: {first.error}",
                EXIT_FAILED,
            )

    run(many)


# -- async process ------------------------------------------------------------------------------------


@root.group("async-process")
def async_process_group() -> None:
    """The Async Process API: large renders delivered to object storage."""


@async_process_group.command("create")
@click.argument("request")
@click.option("--delivery", metavar="S3_URL", help="Where to deliver (else the request's output.delivery).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job to its end.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Download the outputs into this folder (with --wait).",
)
@common
def async_create(request: str, delivery: str | None, wait: bool, out_dir: Path | None) -> None:
    """Submit an Async Process REQUEST (JSON file, - for stdin)."""
    body = read_json(request)
    target = folder_for_output(out_dir) if out_dir is not None else None
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            job = await sh.async_process.create(body, delivery=delivery, read=wait)
            out.record({"id": job.id, "resume_token": job.resume_token}, title="Async Process request")
            if not wait:
                return
            delivered = await follow(job, out, "async-process")
            with out.rows([Column("key", "key"), Column("bytes", "size")], title="Delivered") as add:
                for obj in delivered.objects or ():
                    add({"event": "output", "key": obj.key, "size": obj.size})
            if target is not None:
                report = await job.download(target)
                out.record({"files": len(report.files), "bytes": report.bytes, "folder": target})
                report.raise_for_failures()

    run(go)


@async_process_group.command("status")
@click.argument("request_id")
@common
def async_status(request_id: str) -> None:
    """The status of an Async Process request."""
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            status = await sh.async_process.status(request_id)
        out.record({"id": request_id, "status": status})

    run(go)


# -- BYOC ----------------------------------------------------------------------------------------------


@root.group("byoc")
def byoc_group() -> None:
    """Bring Your Own COG: collections and tiles."""


@byoc_group.command("collections")
@click.option("--search", help="Words to look for (| or, & and).")
@click.option("--max-items", type=int, callback=positive)
@common
def byoc_collections(search: str | None, max_items: int | None) -> None:
    """List the account's BYOC collections."""
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            columns = [Column("id", "id"), Column("name", "name"), Column("bucket", "s3Bucket")]
            with out.rows(columns, title="BYOC collections") as add:
                async for coll in sh.byoc.collections(search, max_items=max_items):
                    add(coll)

    run(go)


@byoc_group.command("create-collection")
@click.argument("collection")
@common
def byoc_create_collection(collection: str) -> None:
    """Create a collection from a JSON file (name, s3Bucket, ...)."""
    body = read_json(collection, "collection")
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            out.record(await sh.byoc.create_collection(body), title="Created")

    run(go)


@byoc_group.command("tiles")
@click.argument("collection_id")
@click.option("--max-items", type=int, callback=positive)
@common
def byoc_tiles(collection_id: str, max_items: int | None) -> None:
    """List the tiles of a collection."""
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            columns = [
                Column("id", "id"),
                Column("path", "path"),
                Column("status", "status"),
                Column("sensing time", "sensingTime"),
            ]
            with out.rows(columns, title="Tiles") as add:
                async for tile in sh.byoc.tiles(collection_id, max_items=max_items):
                    add(tile)

    run(go)


@byoc_group.command("add-tile")
@click.argument("collection_id")
@click.argument("path")
@click.option("--sensing-time", metavar="TIME", help="When the tile was acquired (RFC 3339).")
@common
def byoc_add_tile(collection_id: str, path: str, sensing_time: str | None) -> None:
    """Register the tile at PATH of the collection's bucket (ingestion starts)."""
    tile: dict[str, Any] = {"path": path}
    if sensing_time is not None:
        tile["sensingTime"] = sensing_time
    out = State.get().out

    async def go() -> None:
        async with sentinelhub() as sh:
            out.record(await sh.byoc.create_tile(collection_id, tile), title="Tile")

    run(go)

"""``spaceknow``: imagery search, Kraken release and map download, Datacube product CSV, credits."""

from __future__ import annotations

import json
from contextlib import aclosing
from pathlib import Path
from typing import Any

import click

from eoclient import SpaceKnow
from eoclient.cli.app import State, common, root, run, spaceknow
from eoclient.cli.cmd_sentinelhub import positive
from eoclient.cli.failures import EXIT_FAILED, CliError
from eoclient.cli.inputs import file_for_output, folder_for_output, parse_area
from eoclient.cli.output import Column, Output, follow, plain

__all__ = ["spaceknow_group"]


@root.group("spaceknow")
def spaceknow_group() -> None:
    """SpaceKnow: imagery, Kraken maps, Datacube products, credits."""


def _dataset(value: str) -> tuple[str, str]:
    provider, sep, dataset = value.partition("/")
    if not sep or not provider or not dataset:
        raise CliError(f"--dataset: expected PROVIDER/DATASET (e.g. pl/PSScene), got {value!r}")
    return provider, dataset


@spaceknow_group.command("search")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    required=True,
    metavar="PROVIDER/DATASET",
    help="e.g. pl/PSScene (repeat for several).",
)
@click.option("--bbox", metavar="MINX,MINY,MAXX,MAXY")
@click.option("--geometry", metavar="FILE", help="The area as a GeoJSON file (- for stdin).")
@click.option("--start", "start", metavar="TIME", help="Earliest acquisition (e.g. '2023-01-01 00:00:00').")
@click.option("--end", "end", metavar="TIME", help="Latest acquisition.")
@click.option("--max-items", type=int, callback=positive)
@common
def search(
    *,
    datasets: tuple[str, ...],
    bbox: str | None,
    geometry: str | None,
    start: str | None,
    end: str | None,
    max_items: int | None,
) -> None:
    """Search imagery; one scene per line (a table on a terminal)."""
    wanted = [_dataset(d) for d in datasets]
    box, geo = parse_area(bbox, geometry)
    extent = geo if geo is not None else _bbox_polygon(box) if box is not None else None
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            scenes = sk.imagery.search(
                wanted, extent, start_datetime=start, end_datetime=end, max_items=max_items
            )
            columns = [
                Column("scene id", "sceneId"),
                Column("provider", "provider"),
                Column("dataset", "dataset"),
                Column("datetime", "datetime"),
            ]
            with out.rows(columns, title="Scenes") as add:
                async for scene in scenes:
                    add(scene)

    run(go)


def _bbox_polygon(box: list[float]) -> dict[str, Any]:
    x0, y0, x1, y1 = box
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


async def _download(sk: SpaceKnow, release: Any, folder: Path, concurrency: int, out: Output) -> None:
    files = failed = 0
    each = sk.kraken.download_map_each(release, folder, concurrency=concurrency)
    async with out.counter("map tiles") as advance, aclosing(each) as files_done:
        async for got in files_done:
            if got.ok:
                files += 1
                advance(
                    {
                        "event": "file",
                        "tile": [got.tile.zoom, got.tile.x, got.tile.y],
                        "name": got.name,
                        "path": got.path,
                        "bytes": got.bytes,
                        "skipped": got.skipped,
                    }
                )
            else:
                failed += 1
                advance({"event": "failed", "name": got.name, "error": str(got.error)})
    out.message(f"{files} map files in {folder}, {failed} failed")
    if failed:
        raise CliError(f"{failed} map files failed to download", EXIT_FAILED)


@spaceknow_group.command("release")
@click.argument("map_types", nargs=-1, required=True)
@click.option(
    "--scene",
    "scenes",
    multiple=True,
    required=True,
    metavar="SCENE_ID",
    help="The scene (twice for a change map: old, then new).",
)
@click.option("--bbox", metavar="MINX,MINY,MAXX,MAXY")
@click.option("--geometry", metavar="FILE", help="The extent as a GeoJSON polygon file.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Download the released map into this folder.",
)
@click.option("--concurrency", type=int, default=16, show_default=True, callback=positive)
@common
def release(
    *,
    map_types: tuple[str, ...],
    scenes: tuple[str, ...],
    bbox: str | None,
    geometry: str | None,
    out_dir: Path | None,
    concurrency: int,
) -> None:
    """Release a Kraken map of MAP_TYPES (e.g. trees) over an extent; may spend credits."""
    box, geo = parse_area(bbox, geometry, required=True)
    extent = geo if geo is not None else _bbox_polygon(box)
    folder = folder_for_output(out_dir) if out_dir is not None else None
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            job = await sk.kraken.release(list(map_types), list(scenes), extent)
            released = await follow(job, out, "kraken")
            out.record(
                {"event": "released", **plain(released)}
                if out.json_lines
                else {"map id": released.map_id, "tiles": len(released.tiles)},
                title="Released",
            )
            if folder is not None:
                await _download(sk, released, folder, concurrency, out)

    run(go)


def _read_release(source: str) -> dict[str, Any]:
    """The release in ``source``: a JSON object, or the last line of ``release --json`` with a mapId."""
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read the release file {source}: {exc.strerror}") from None
    for line in reversed(text.strip().splitlines() or [""]):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "mapId" in doc:
            return doc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and "mapId" in doc:
        return doc
    raise CliError(f"the release file {source} holds no release (a JSON object with mapId and tiles)")


@spaceknow_group.command("download-map")
@click.argument("release_file", metavar="RELEASE")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--concurrency", type=int, default=16, show_default=True, callback=positive)
@common
def download_map(release_file: str, out_dir: Path, concurrency: int) -> None:
    """Download a released map; RELEASE is the file `spaceknow release --json` wrote."""
    released = _read_release(release_file)
    released.pop("event", None)
    folder = folder_for_output(out_dir)
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            await _download(sk, released, folder, concurrency, out)

    run(go)


@spaceknow_group.command("product-csv")
@click.argument("product_id")
@click.option("-o", "--out", "out_file", type=click.Path(path_type=Path), help="Write here (else stdout).")
@click.option("--pit-dt", metavar="DATE", help="The data as it was known on this date.")
@click.option("--rich", "rich_format", is_flag=True, help="The rich CSV format (more columns).")
@common
def product_csv(product_id: str, out_file: Path | None, pit_dt: str | None, rich_format: bool) -> None:
    """A Datacube product as CSV."""
    target = file_for_output(out_file) if out_file is not None else None
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            text = await sk.datacube.product_csv(
                product_id, pit_dt=pit_dt, csv_format="rich" if rich_format else "simple"
            )
        if target is None:
            out.stream.write(text if text.endswith("\n") else text + "\n")
        else:
            target.write_text(text, encoding="utf-8")
            out.record({"path": target, "bytes": len(text.encode())}, title="Written")

    run(go)


@spaceknow_group.command("products")
@click.option("--downloadable", is_flag=True, help="Only products that can be downloaded.")
@common
def products(downloadable: bool) -> None:
    """The Datacube products you can see."""
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            columns = [
                Column("product id", "productId"),
                Column("active", "active"),
                Column("downloadable", "downloadable"),
            ]
            with out.rows(columns, title="Products") as add:
                async for product in sk.datacube.products(downloadable_only=downloadable):
                    add(product)

    run(go)


@spaceknow_group.command("credits")
@click.option("--transactions", is_flag=True, help="List the group's credit transactions instead.")
@click.option("--max-items", type=int, callback=positive)
@common
def credits_(transactions: bool, max_items: int | None) -> None:
    """Your remaining and used credit (or the transactions)."""
    out = State.get().out

    async def go() -> None:
        async with spaceknow() as sk:
            if not transactions:
                out.record(await sk.credits.user_info(), title="Credits")
                return
            columns = [Column("time", "time"), Column("kind", "kind"), Column("credit", "credit")]
            with out.rows(columns, title="Transactions") as add:
                async for tx in sk.credits.transactions(max_items=max_items):
                    add(tx)

    run(go)

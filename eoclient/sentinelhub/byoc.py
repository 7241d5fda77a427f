"""Sentinel Hub BYOC (Bring Your Own COG): collections, tiles, and the files of Planet tiles.

Reached as ``sh.byoc``::

    async with eoclient.SentinelHub() as sh:
        coll = await sh.byoc.create_collection({"name": "ndvi", "s3Bucket": "my-bucket"})
        tile = await sh.byoc.create_tile(coll.id, {"path": "2024/ndvi_(BAND)"})
        async for t in sh.byoc.tiles(coll.id, status="INGESTED"):
            print(t.path)

Listings follow Sentinel Hub's ``viewtoken`` paging (``links.nextToken``, or
the ``links.next`` URL) and are :class:`~eoclient.paging.Paginator` objects.

A create whose answer is lost (connection dropped after sending, read
timeout, 500/502/503/504) is not sent again but looked up (see
:mod:`eoclient._outcome`): a tile by its ``path`` (unique in its collection),
a collection by its name and bucket; not found, or ambiguous:
:class:`~eoclient.errors.OutcomeUnknownError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._models import from_wire
from eoclient._outcome import Claims, create_or_find
from eoclient._paths import segments
from eoclient.bulk import download_file
from eoclient.errors import DownloadSizeError, ResponseDecodeError, ValidationError
from eoclient.paging import NoCursor, Page, Paginator, ViewToken
from eoclient.sentinelhub._lookup import named_finder
from eoclient.sentinelhub._paging import view_paginator
from eoclient.sentinelhub.byoc_models import (
    TILE_STATUSES,
    Collection,
    Tile,
    TileFileDownload,
    collection_body,
    file_list,
    page_count,
    search_params,
    tile_body,
    tile_update_body,
    uuid_id,
)

__all__ = ["BYOC", "DownloadSizeError"]

T = TypeVar("T")

_BASE: Final = "/api/v1/byoc/collections"
_SORTS: Final = frozenset({"created:asc", "created:desc"})


def _data(body: Any, operation: str, path: str) -> Any:
    """The ``data`` member of a ``{"data": {...}}`` answer."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ResponseDecodeError('expected {"data": {...}}', operation=operation, path=path)
    return body["data"]


class BYOC:
    """BYOC collections, tiles and Planet tile files. Reached as ``sh.byoc``.

    Ids are UUIDs (a :class:`uuid.UUID`, its text, or ``"byoc-<uuid>"`` as
    written in Process API requests). Methods taking a model also take a
    docs-style dict. Client-side checks raise :class:`~eoclient.errors.ValidationError`
    before anything is sent; the service's refusals (e.g. adding a band to a
    collection that has tiles) come back as :class:`~eoclient.errors.BadRequestError`
    or :class:`~eoclient.errors.ConflictError`.
    """

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx
        self._claims = Claims()

    # -- collections ---------------------------------------------------------------------

    async def create_collection(self, collection: Collection | Mapping[str, Any]) -> Collection:
        """Create a collection; returns it with its ``id``.

        Names need not be unique, so the ids of the collections that already
        have this name and bucket are read first (one ``GET ...?search=``). If
        the create's answer is lost, the one collection with this name and
        bucket that is not among them is returned; none, or several (another
        create of the same name at the same time):
        :class:`~eoclient.errors.OutcomeUnknownError`.

        Example::

            coll = await sh.byoc.create_collection({
                "name": "my collection",
                "s3Bucket": "my-bucket",
                "additionalData": {"bands": {"B1": {"bitDepth": 16, "sampleFormat": "UINT"}}},
            })
        """
        body = collection_body(collection)
        op = "byoc.create_collection"
        name, bucket = body["name"], body["s3Bucket"]

        find = await named_finder(
            self._ctx.transport, _BASE, name, bucket, list[Collection], operation="byoc.collections"
        )

        async def send() -> Collection:
            answer = await self._ctx.transport.request_json("POST", _BASE, operation=op, json=body)
            return from_wire(_data(answer, op, _BASE), Collection, operation=op, path=_BASE)

        return await create_or_find(
            send,
            find=find,
            identify=lambda coll: coll.id or "",
            operation=op,
            resource="BYOC collection",
            how_to_find=(
                f"Look for a collection named {name!r} on bucket {bucket!r} in "
                f"sh.byoc.collections(search=...) before creating it again"
            ),
            claims=self._claims,
            key=f"{name}\n{bucket}",
            retry=self._ctx.transport.retry,
        )

    def collections(
        self, search: str | None = None, count: int | None = None, *, max_items: int | None = None
    ) -> Paginator[Collection, ViewToken]:
        """Every collection of the account, page by page.

        ``search``: a word, or words joined with ``|`` (or) and ``&`` (and);
        ``count``: page size (1..100); ``max_items``: stop after that many.
        """
        params = search_params(search, count)
        return view_paginator(
            self._ctx.transport,
            _BASE,
            Collection,
            operation="byoc.collections",
            params=params,
            max_items=max_items,
        )

    async def collection(self, collection_id: Any) -> Collection:
        """One collection by id (:class:`~eoclient.errors.NotFoundError` if there is none)."""
        path = f"{_BASE}/{uuid_id(collection_id, field='collection_id')}"
        op = "byoc.collection"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(_data(answer, op, path), Collection, operation=op, path=path)

    async def update_collection(self, collection_id: Any, collection: Collection | Mapping[str, Any]) -> None:
        """Replace a collection's name, bucket, noData and (if given) bands.

        ``name`` and ``s3Bucket`` are required; a missing ``noData`` deletes
        the old one; ``additionalData`` omitted leaves the bands as they are.
        Once a collection has tiles, bands can be renamed, get a noData value
        or be removed, but not added or otherwise changed — the service
        refuses (:class:`~eoclient.errors.BadRequestError`).
        """
        path = f"{_BASE}/{uuid_id(collection_id, field='collection_id')}"
        body = collection_body(collection, update=True)
        await self._ctx.transport.request("PUT", path, operation="byoc.update_collection", json=body)

    async def delete_collection(self, collection_id: Any) -> None:
        """Delete a collection (and its tiles)."""
        path = f"{_BASE}/{uuid_id(collection_id, field='collection_id')}"
        await self._ctx.transport.request("DELETE", path, operation="byoc.delete_collection")

    async def copy_tiles(self, from_id: Any, to_id: Any) -> None:
        """Copy the ingested tiles of ``from_id`` whose path is not yet in ``to_id``.

        The target must have the same band names and types, or no bands.
        """
        source = uuid_id(from_id, field="from_id")
        target = uuid_id(to_id, field="to_id")
        if source == target:
            raise ValidationError("to_id", "is the source collection itself")
        await self._ctx.transport.request(
            "POST",
            f"{_BASE}/{source}/copyTiles",
            operation="byoc.copy_tiles",
            params={"toCollection": target},
        )

    # -- tiles ---------------------------------------------------------------------------

    def _tiles_path(self, collection_id: Any) -> str:
        return f"{_BASE}/{uuid_id(collection_id, field='collection_id')}/tiles"

    def _tile_path(self, collection_id: Any, tile_id: Any) -> str:
        return f"{self._tiles_path(collection_id)}/{uuid_id(tile_id, field='tile_id', prefix='')}"

    async def create_tile(self, collection_id: Any, tile: Tile | Mapping[str, Any]) -> Tile:
        """Register a tile (its files are at ``path`` in the collection's bucket); ingestion starts.

        A tile's ``path`` is unique in its collection (the service refuses a
        second one with 409), so if the answer is lost the tile is looked up
        by its path (``GET .../tiles?path=``) and returned; not found:
        :class:`~eoclient.errors.OutcomeUnknownError`.

        Example::

            tile = await sh.byoc.create_tile(coll.id, {
                "path": "2024/08/scene_(BAND)",
                "sensingTime": "2024-08-24T10:15:22Z",
            })
        """
        path = self._tiles_path(collection_id)
        body = tile_body(tile)
        op = "byoc.create_tile"

        async def send() -> Tile:
            answer = await self._ctx.transport.request_json("POST", path, operation=op, json=body)
            return from_wire(_data(answer, op, path), Tile, operation=op, path=path)

        async def find() -> list[Tile]:
            return await self.tiles(collection_id, path=body["path"]).collect()

        return await create_or_find(
            send,
            find=find,
            identify=lambda found: found.id or "",
            operation=op,
            resource="BYOC tile",
            how_to_find=f"sh.byoc.tiles(collection_id, path={body['path']!r}) lists it if it exists",
            retry=self._ctx.transport.retry,
        )

    def tiles(
        self,
        collection_id: Any,
        sort: str | None = None,
        path: str | None = None,
        status: str | None = None,
        count: int | None = None,
        *,
        max_items: int | None = None,
    ) -> Paginator[Tile, ViewToken]:
        """The tiles of a collection, page by page.

        ``sort``: ``"created:asc"`` or ``"created:desc"``; ``path``: only the
        tile with exactly this path; ``status``: only tiles in this status
        (``WAITING``, ``QUEUED``, ``INGESTING``, ``INGESTED``, ``FAILED``);
        ``count``: page size (1..100).
        """
        url = self._tiles_path(collection_id)
        if sort is not None and sort not in _SORTS:
            raise ValidationError("sort", f"must be one of {sorted(_SORTS)}, got {sort!r}")
        if path is not None and not isinstance(path, str):
            raise ValidationError("path", f"expected a string, got {type(path).__name__}")
        if status is not None and status not in TILE_STATUSES:
            raise ValidationError("status", f"must be one of {sorted(TILE_STATUSES)}, got {status!r}")
        params = {"sort": sort, "path": path, "status": status, "count": page_count(count)}
        return view_paginator(
            self._ctx.transport, url, Tile, operation="byoc.tiles", params=params, max_items=max_items
        )

    async def tile(self, collection_id: Any, tile_id: Any) -> Tile:
        """One tile by id."""
        path = self._tile_path(collection_id, tile_id)
        op = "byoc.tile"
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(_data(answer, op, path), Tile, operation=op, path=path)

    async def update_tile(
        self, collection_id: Any, tile_id: Any, tile: Tile | Mapping[str, Any] | Any
    ) -> None:
        """Change a tile's ``coverGeometry`` and/or ``sensingTime``.

        Pass a dict with either key (``{"sensingTime": None}`` clears the time),
        or a :class:`~eoclient.sentinelhub.byoc_models.Tile` /
        :class:`~eoclient.sentinelhub.byoc_models.TileUpdate` as it should be.
        """
        path = self._tile_path(collection_id, tile_id)
        body = tile_update_body(dict(tile) if isinstance(tile, Mapping) else tile)
        await self._ctx.transport.request("PUT", path, operation="byoc.update_tile", json=body)

    async def delete_tile(self, collection_id: Any, tile_id: Any) -> None:
        """Delete a tile from the collection (its files stay in the bucket)."""
        path = self._tile_path(collection_id, tile_id)
        await self._ctx.transport.request("DELETE", path, operation="byoc.delete_tile")

    async def reingest_tile(self, collection_id: Any, tile_id: Any) -> None:
        """Start ingesting a tile again (e.g. after fixing its files)."""
        path = self._tile_path(collection_id, tile_id) + "/reingest"
        await self._ctx.transport.request("POST", path, operation="byoc.reingest_tile")

    # -- files of Planet tiles -----------------------------------------------------------

    def _file_path(self, collection_id: Any, tile_id: Any, path: str) -> str:
        if not isinstance(path, str) or not path.strip("/"):
            raise ValidationError("path", "a file name as listed by tile_files() is required")
        return f"{self._tile_path(collection_id, tile_id)}/files/{segments(path, 'path')}"

    def tile_files(self, collection_id: Any, tile_id: Any) -> Paginator[str, NoCursor]:
        """The file names of a tile of a Planet (subscription/order) collection.

        The service answers in one page; it is a :class:`Paginator` like every listing.
        """
        url = self._tile_path(collection_id, tile_id) + "/files"
        op = "byoc.tile_files"

        async def fetch(cursor: NoCursor | None) -> Page[str, NoCursor]:
            del cursor
            answer = await self._ctx.transport.request_json("GET", url, operation=op)
            return Page(from_wire(file_list(answer), list[str], operation=op, path=url))

        return Paginator(fetch, cursor_kind=NoCursor)

    async def tile_file_size(self, collection_id: Any, tile_id: Any, path: str) -> int:
        """The size in bytes of a file of a Planet tile (a ``HEAD`` request)."""
        url = self._file_path(collection_id, tile_id, path)
        op = "byoc.tile_file_size"
        resp = await self._ctx.transport.request("HEAD", url, operation=op)
        length = resp.headers.get("Content-Length", "")
        if not length.isdigit():
            raise ResponseDecodeError("the answer has no Content-Length", operation=op, path=resp.path)
        return int(length)

    async def download_tile_file(
        self,
        collection_id: Any,
        tile_id: Any,
        path: str,
        dest: str | os.PathLike[str],
        *,
        max_resumes: int = 5,
        chunk_size: int = 1 << 16,
    ) -> TileFileDownload:
        """Download a file of a Planet tile to ``dest``, resuming after dropped connections.

        Bytes go to ``<dest>.part`` and the file appears under ``dest`` only
        when complete and of the size the service reports (a ``HEAD`` first).
        A connection lost mid-body is resumed with a ``Range`` request (up to
        ``max_resumes`` times; a server that answers the whole file instead is
        read from the start); a failed call keeps its ``.part`` and a later
        call resumes it. A size mismatch raises
        :class:`~eoclient.errors.DownloadSizeError` and leaves no file. This
        is :func:`eoclient.bulk.download_file` with ``keep_partial=True``.

        Example::

            for name in await sh.byoc.tile_files(coll_id, tile_id).collect():
                got = await sh.byoc.download_tile_file(coll_id, tile_id, name, out_dir / name)
        """
        url = self._file_path(collection_id, tile_id, path)
        if isinstance(max_resumes, bool) or not isinstance(max_resumes, int) or max_resumes < 0:
            raise ValidationError("max_resumes", "must be an integer >= 0")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValidationError("chunk_size", "must be a positive integer")
        size = await self.tile_file_size(collection_id, tile_id, path)
        got = await download_file(
            self._ctx.transport,
            url,
            dest,
            operation="byoc.download_tile_file",
            chunk_size=chunk_size,
            expected_size=size,
            keep_partial=True,
            attempts=max_resumes + 1,
            # The type follows the file's name on the service, whatever the local name is.
            expect=media.expected_for_filename(path) or media.ANY_BUT_PAGE,
        )
        return TileFileDownload(got.path, got.bytes, got.resumes)

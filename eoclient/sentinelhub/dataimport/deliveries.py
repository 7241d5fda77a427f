"""The deliveries of orders and subscriptions: listing, files, archives, and the BYOC tiles they became.

One class serves both parents (``sh.dataimport.order_deliveries`` and
``sh.dataimport.subscription_deliveries``): the service has the same calls under
``/orders/{id}/deliveries`` and ``/subscriptions/{id}/deliveries``.
"""

from __future__ import annotations

import builtins
import os
from typing import Any, Final

from eoclient._context import ServiceContext
from eoclient._http import media
from eoclient._models import from_wire
from eoclient._paths import segments
from eoclient.bulk import download_file
from eoclient.errors import ResponseDecodeError, ValidationError
from eoclient.jobs import Job
from eoclient.paging import NoCursor, Page, Paginator, ViewToken
from eoclient.sentinelhub.byoc_models import TileFileDownload, page_count, uuid_id
from eoclient.sentinelhub.dataimport.jobs import BASE, ArchiveJob, DeliveryJob, deliveries_of
from eoclient.sentinelhub.dataimport.models import DELIVERY_STATUSES, Delivery, DeliveryArchive, DeliveryTile

__all__ = ["Deliveries"]

_FORMAT: Final = {"format": "zip"}  # the one archive format there is


def _id(value: Any, field: str) -> str:
    return uuid_id(value, field=field, prefix="")


def _checked(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(field, "must be an integer >= 0")
    return value


class Deliveries:
    """The deliveries of orders (``parent="orders"``) or of subscriptions (``"subscriptions"``).

    Files and archives exist once a delivery is ``DONE`` (before: the service
    answers 409, :class:`~eoclient.errors.ConflictError`).

    Example::

        async for d in sh.dataimport.order_deliveries.list(order.id):
            for name in await sh.dataimport.order_deliveries.files(order.id, d.id).collect():
                await sh.dataimport.order_deliveries.download_file(order.id, d.id, name, out / name)
    """

    def __init__(self, ctx: ServiceContext[Any], parent: str) -> None:
        self._ctx = ctx
        self._parent = parent
        self._what = parent[:-1]  # "order" / "subscription", for operation names and fields

    def _path(self, parent_id: Any, delivery_id: Any | None = None) -> str:
        path = f"{BASE}/{self._parent}/{_id(parent_id, f'{self._what}_id')}/deliveries"
        return path if delivery_id is None else f"{path}/{_id(delivery_id, 'delivery_id')}"

    def _op(self, name: str) -> str:
        return f"dataimport.{self._what}_{name}"

    def list(
        self,
        parent_id: Any,
        status: str | None = None,
        count: int | None = None,
        *,
        max_items: int | None = None,
    ) -> Paginator[Delivery, ViewToken]:
        """The deliveries, page by page; ``status``: only those in this ``DeliveryStatus``."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise ValidationError("status", f"must be one of {sorted(DELIVERY_STATUSES)}, got {status!r}")
        return deliveries_of(
            self._ctx,
            self._parent,
            _id(parent_id, f"{self._what}_id"),
            status=status,
            count=page_count(count),
            max_items=max_items,
        )

    async def get(self, parent_id: Any, delivery_id: Any) -> Delivery:
        """One delivery."""
        path, op = self._path(parent_id, delivery_id), self._op("delivery")
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, Delivery, operation=op, path=path)

    # -- files ---------------------------------------------------------------------------

    def files(self, parent_id: Any, delivery_id: Any) -> Paginator[str, NoCursor]:
        """The names (with their paths) of a ``DONE`` delivery's files; one page."""
        path, op = self._path(parent_id, delivery_id) + "/files", self._op("delivery_files")

        async def fetch(cursor: NoCursor | None) -> Page[str, NoCursor]:
            del cursor
            answer = await self._ctx.transport.request_json("GET", path, operation=op)
            return Page(from_wire(answer, list[str], operation=op, path=path))

        return Paginator(fetch, cursor_kind=NoCursor)

    def _file_path(self, parent_id: Any, delivery_id: Any, name: str) -> str:
        if not isinstance(name, str) or not name.strip("/"):
            raise ValidationError("file", "a file name as listed by files() is required")
        return f"{self._path(parent_id, delivery_id)}/files/{segments(name, 'file')}"

    async def _size(self, path: str, op: str, params: dict[str, str] | None = None) -> int:
        resp = await self._ctx.transport.request("HEAD", path, operation=op, params=params)
        length = resp.headers.get("Content-Length", "")
        if not length.isdigit():
            raise ResponseDecodeError("the answer has no Content-Length", operation=op, path=resp.path)
        return int(length)

    async def file_size(self, parent_id: Any, delivery_id: Any, name: str) -> int:
        """The size in bytes of a delivery's file (a ``HEAD`` request)."""
        return await self._size(self._file_path(parent_id, delivery_id, name), self._op("delivery_file_size"))

    async def download_file(
        self,
        parent_id: Any,
        delivery_id: Any,
        name: str,
        dest: str | os.PathLike[str],
        *,
        max_resumes: int = 5,
    ) -> TileFileDownload:
        """Download a delivery's file to ``dest`` (sized by a ``HEAD``, resumed with ``Range``).

        As :meth:`eoclient.sentinelhub.byoc.BYOC.download_tile_file`: the file
        appears only when complete and of the announced size.
        """
        path = self._file_path(parent_id, delivery_id, name)
        attempts = _checked(max_resumes, "max_resumes") + 1
        size = await self.file_size(parent_id, delivery_id, name)
        got = await download_file(
            self._ctx.transport,
            path,
            dest,
            operation=self._op("download_delivery_file"),
            expected_size=size,
            keep_partial=True,
            attempts=attempts,
            expect=media.expected_for_filename(name) or media.ANY_BUT_PAGE,
        )
        return TileFileDownload(got.path, got.bytes, got.resumes)

    def job(self, parent_id: Any, delivery_id: Any) -> Job[Delivery]:
        """A Job following one delivery until its data is imported (``DONE``) or cannot be.

        ``await`` it for the ``DONE`` delivery; a delivery that failed raises
        :class:`~eoclient.errors.JobFailedError` with the service's ``errorMessage``.
        """
        strategy = DeliveryJob(
            self._ctx, self._parent, _id(parent_id, f"{self._what}_id"), _id(delivery_id, "delivery_id")
        )
        return Job(strategy, poll=self._ctx.poll)

    # -- archives ------------------------------------------------------------------------

    async def create_archive(self, parent_id: Any, delivery_id: Any) -> Job[DeliveryArchive]:
        """Ask for a zip of a ``DONE`` delivery's files; a Job that ends when it can be downloaded.

        Asking twice for the same delivery is refused by the service (409):
        follow the first with :meth:`archive_job`.
        """
        path, op = self._path(parent_id, delivery_id) + "/archive/create", self._op("create_archive")
        answer = await self._ctx.transport.request_json("POST", path, operation=op, params=_FORMAT)
        from_wire(answer, DeliveryArchive, operation=op, path=path)
        return self.archive_job(parent_id, delivery_id)

    def archive_job(self, parent_id: Any, delivery_id: Any) -> Job[DeliveryArchive]:
        """A Job following an archive already asked for."""
        strategy = ArchiveJob(
            self._ctx, self._parent, _id(parent_id, f"{self._what}_id"), _id(delivery_id, "delivery_id")
        )
        return Job(strategy, poll=self._ctx.poll)

    async def archive_status(self, parent_id: Any, delivery_id: Any) -> DeliveryArchive:
        """Where the archive of a delivery is (``WAITING``, ``PREPARING``, ``DONE``, ``FAILED``)."""
        path, op = self._path(parent_id, delivery_id) + "/archive/status", self._op("archive_status")
        answer = await self._ctx.transport.request_json("GET", path, operation=op, params=_FORMAT)
        return from_wire(answer, DeliveryArchive, operation=op, path=path)

    async def archive_size(self, parent_id: Any, delivery_id: Any) -> int:
        """The size in bytes of a ``DONE`` archive (a ``HEAD`` request)."""
        path = self._path(parent_id, delivery_id) + "/archive"
        return await self._size(path, self._op("archive_size"), dict(_FORMAT))

    async def download_archive(
        self, parent_id: Any, delivery_id: Any, dest: str | os.PathLike[str], *, max_resumes: int = 5
    ) -> TileFileDownload:
        """Download a ``DONE`` archive (a zip) to ``dest``, resuming a broken body with ``Range``."""
        path = self._path(parent_id, delivery_id) + "/archive"
        attempts = _checked(max_resumes, "max_resumes") + 1
        size = await self.archive_size(parent_id, delivery_id)
        got = await download_file(
            self._ctx.transport,
            path,
            dest,
            operation=self._op("download_archive"),
            params=_FORMAT,
            expected_size=size,
            keep_partial=True,
            attempts=attempts,
            expect=("application/zip", "application/octet-stream"),
        )
        return TileFileDownload(got.path, got.bytes, got.resumes)

    # -- BYOC tiles ----------------------------------------------------------------------

    async def tiles(self, parent_id: Any, delivery_id: Any) -> builtins.list[DeliveryTile]:
        """The BYOC tiles the delivery became, with their ingestion status."""
        path, op = self._path(parent_id, delivery_id) + "/tiles", self._op("delivery_tiles")
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise ResponseDecodeError('expected {"data": [...]}', operation=op, path=path)
        return from_wire(answer["data"], list[DeliveryTile], operation=op, path=path)

    async def tile(self, parent_id: Any, delivery_id: Any, tile_id: Any) -> DeliveryTile:
        """One BYOC tile of the delivery."""
        path = f"{self._path(parent_id, delivery_id)}/tiles/{_id(tile_id, 'tile_id')}"
        op = self._op("delivery_tile")
        answer = await self._ctx.transport.request_json("GET", path, operation=op)
        return from_wire(answer, DeliveryTile, operation=op, path=path)

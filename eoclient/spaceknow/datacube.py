"""SpaceKnow Datacube: AoIs, the catalogue, datapoints, products and their CSVs.

Reached as ``sk.datacube``::

    async with eoclient.SpaceKnow() as sk:
        async for aoi in sk.datacube.aois():
            print(aoi.label, aoi.name)
        points = await sk.datacube.datapoints(
            [ValueList("project", ["coal"]), ValueList("algorithm", ["ndmi_mean"]),
             GeoIntersects(label="cz"), ValueRange("cloudCover", max=0.05)],
            resample="monthly",
        )
        big = await (await sk.datacube.datapoints_job(filters))   # the initiate/retrieve variant
        async with contextlib.aclosing(sk.datacube.iter_product_rows("SK_PI_C_CN_W")) as rows:
            async for row in rows:
                print(row["value_dt"])

Only ``/datacube/datapoints/get`` (and its ``initiate``) is named by the
reference; the other paths are the constants below, one place to change.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from eoclient._checks import optional_text
from eoclient._context import ServiceContext
from eoclient._http.transport import decode_json
from eoclient._models import from_wire
from eoclient.errors import NotFoundError, ResponseDecodeError, ValidationError
from eoclient.jobs import Job
from eoclient.paging import NoCursor, Page, Paginator
from eoclient.spaceknow.datacube_models import (
    CSV_FORMATS,
    Aoi,
    CatalogueEntry,
    Datapoints,
    Filter,
    Product,
    datapoints_body,
)
from eoclient.spaceknow.pipelines import initiate, register_result

__all__ = ["CsvRecords", "Datacube", "parse_csv"]

AOIS: Final = "/datacube/aois/list"
CATALOGUE: Final = "/datacube/catalogue/get"
DATAPOINTS: Final = "/datacube/datapoints/get"
DATAPOINTS_INITIATE: Final = "/datacube/datapoints/get/initiate"
DATAPOINTS_RETRIEVE: Final = "/datacube/datapoints/get/retrieve"
PRODUCTS: Final = "/datacube/products/list"
PRODUCT_CSV: Final = "/datacube/products/get-csv"
DATA_DICTIONARY: Final = "/datacube/products/get-data-dictionary"

register_result(DATAPOINTS_RETRIEVE, Datapoints)

_PRODUCT_ID_MAX: Final = 140
_LINE_END: Final = re.compile(r"\r\n|\n|\r")


# -- CSV ------------------------------------------------------------------------------------


class CsvRecords:
    """Splits CSV text arriving in pieces into complete records (quoted newlines kept inside).

    ``feed`` bytes or text as they come; it returns the records completed so
    far. A record is complete at a line end outside quotes (an even number of
    ``"`` so far, which also holds for ``""`` escapes).
    """

    def __init__(self, encoding: str = "utf-8") -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._tail = ""  # text after the last line end
        self._record: list[str] = []  # lines of an unfinished (quoted, multi-line) record
        self._quotes = 0

    def feed(self, data: bytes | str) -> list[str]:
        text = self._tail + (data if isinstance(data, str) else self._decoder.decode(data))
        # A chunk may end between "\r" and "\n": keep a trailing "\r" for the next one.
        cut = len(text) - 1 if text.endswith("\r") else len(text)
        text, self._tail = text[:cut], text[cut:]
        out: list[str] = []
        pos = 0
        for match in _LINE_END.finditer(text):
            self._add(text[pos : match.end()], out)
            pos = match.end()
        self._tail = text[pos:] + self._tail
        return out

    def close(self) -> list[str]:
        """The last record (a body need not end with a line break)."""
        out: list[str] = []
        rest = self._tail + self._decoder.decode(b"", final=True)
        self._tail = ""
        if rest:
            self._add(rest, out)
        if self._record:
            out.append("".join(self._record))  # an unterminated quote: let csv report it
            self._record = []
        return out

    def _add(self, line: str, out: list[str]) -> None:
        self._record.append(line)
        self._quotes += line.count('"')
        if self._quotes % 2 == 0:
            record = "".join(self._record)
            self._record, self._quotes = [], 0
            if record.strip():
                out.append(record)


def _fields(record: str) -> list[str]:
    # The reference's samples indent lines and put a space after each comma; neither is data.
    return next(csv.reader([record.lstrip().lstrip("\ufeff")], skipinitialspace=True), [])


class _Rows:
    """Turns records into dicts keyed by the header record."""

    def __init__(self, operation: str, path: str) -> None:
        self.header: list[str] | None = None
        self._operation = operation
        self._path = path
        self._count = 0

    def rows(self, records: Iterable[str]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for record in records:
            try:
                values = _fields(record)
            except csv.Error as exc:
                raise ResponseDecodeError(
                    f"bad CSV record {self._count + 1}: {exc}", operation=self._operation, path=self._path
                ) from exc
            self._count += 1
            if self.header is None:
                self.header = [v.strip() for v in values]
                continue
            if len(values) != len(self.header):
                raise ResponseDecodeError(
                    f"CSV record {self._count} has {len(values)} fields, the header {len(self.header)}",
                    operation=self._operation,
                    path=self._path,
                )
            out.append(dict(zip(self.header, values, strict=True)))
        return out


def parse_csv(text: str, *, operation: str = "csv", path: str = "") -> list[dict[str, str]]:
    """Rows of a CSV text as dicts keyed by its header (blank lines and indentation ignored)."""
    splitter = CsvRecords()
    parser = _Rows(operation, path)
    return parser.rows([*splitter.feed(text), *splitter.close()])


def _charset(content_type_header: str) -> str:
    for part in content_type_header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip('"')
            try:
                codecs.lookup(name)
            except LookupError:
                break
            return name
    return "utf-8"


# CSV as text, or as one JSON string (as the reference shows it).
_CSV_ANSWER: Final = frozenset({"text/csv", "text/plain", "application/json"})


def _csv_text(body: bytes, content_type: str, header: str, *, operation: str, path: str) -> str:
    """The CSV text of an answer: ``text/csv`` as is, or a JSON string (as the reference shows it)."""
    if content_type == "application/json":
        value = decode_json(body, operation=operation, path=path)
        if not isinstance(value, str):
            raise ResponseDecodeError("expected CSV text", operation=operation, path=path)
        return value
    return body.decode(_charset(header), errors="replace")


# -- arguments ------------------------------------------------------------------------------


def _product_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= _PRODUCT_ID_MAX:
        raise ValidationError("product_id", f"must be a string of 1 to {_PRODUCT_ID_MAX} characters")
    return value


def _pit_dt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValidationError("pit_dt", f"expected a date or 'YYYY-MM-DD', got {value!r}")


def _product_body(product_id: Any, pit_dt: Any, csv_format: Any) -> dict[str, Any]:
    if csv_format not in CSV_FORMATS:
        raise ValidationError("csv_format", f"must be one of {', '.join(CSV_FORMATS)}, got {csv_format!r}")
    body: dict[str, Any] = {"productId": _product_id(product_id), "csvFormat": csv_format}
    if (pit := _pit_dt(pit_dt)) is not None:
        body["pitDt"] = pit
    return body


# -- the family -----------------------------------------------------------------------------

FiltersArg = Sequence[Filter | Mapping[str, Any]] | Mapping[str, Any]


class Datacube:
    """SpaceKnow Datacube. Reached as ``sk.datacube`` of :class:`~eoclient.SpaceKnow`."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    def _single_page(
        self, path: str, body: dict[str, Any], decode: Any, operation: str
    ) -> Paginator[Any, NoCursor]:
        """These listings come in one answer; a Paginator keeps every listing alike."""

        async def fetch(cursor: NoCursor | None) -> Page[Any, NoCursor]:
            del cursor
            data = await self._ctx.transport.request_json(
                "POST", path, operation=operation, json=body, idempotent=True
            )
            return Page(decode(data), None)

        return Paginator(fetch, cursor_kind=NoCursor)

    # -- AoIs and the catalogue --

    def aois(self) -> Paginator[Aoi, NoCursor]:
        """The AoIs you may filter datapoints by (``GeoIntersects(label=...)``).

        Example::

            labels = [aoi.label async for aoi in sk.datacube.aois()]
        """
        op = "datacube.aois"
        return self._single_page(
            AOIS, {}, lambda data: from_wire(data, list[Aoi], operation=op, path=AOIS), op
        )

    async def aoi(self, label: str) -> Aoi | None:
        """The AoI with ``label``, or ``None`` if it is not one you can use."""
        if not isinstance(label, str) or not label:
            raise ValidationError("label", "must be a non-empty string")
        async for aoi in self.aois():
            if aoi.label == label:
                return aoi
        return None

    def catalogue(
        self,
        *,
        version: str | None = None,
        project: str | None = None,
        source: str | None = None,
        algorithm: str | None = None,
        aoi_name: str | None = None,
        aoi_label: str | None = None,
    ) -> Paginator[CatalogueEntry, NoCursor]:
        """What the Datacube has datapoints for, optionally narrowed by each field.

        The service groups entries by algorithm; here they come flat, algorithm
        by algorithm (each entry names its ``algorithm``).

        Example::

            async for entry in sk.datacube.catalogue(project="coal", aoi_label="cz"):
                print(entry.algorithm, entry.version, entry.date_ranges)
        """
        given = {
            "version": version,
            "project": project,
            "source": source,
            "algorithm": algorithm,
            "aoiName": aoi_name,
            "aoiLabel": aoi_label,
        }
        body = {k: optional_text(k, v, allow_empty=True) for k, v in given.items() if v is not None}
        op = "datacube.catalogue"

        def decode(data: Any) -> list[CatalogueEntry]:
            groups = from_wire(data, dict[str, list[CatalogueEntry]], operation=op, path=CATALOGUE)
            return [entry for entries in groups.values() for entry in entries]

        return self._single_page(CATALOGUE, body, decode, op)

    # -- datapoints --

    async def datapoints(
        self,
        filters: FiltersArg,
        *,
        aggregator: str | None = None,
        resample: str | None = None,
        columns: Sequence[str] | None = None,
        show_aoi_positions: bool | None = None,
        show_aoi_tags: bool | None = None,
        postprocess_type: str | None = None,
        keep_duplicates: bool | None = None,
        keep_all_versions: bool | None = None,
    ) -> Datapoints:
        """Datapoints matching every filter, in one request (see :meth:`datapoints_job` for big ones).

        ``filters`` is a list of :class:`TimeRange`, :class:`ValueRange`,
        :class:`ValueList`, :class:`GeoIntersects` or their reference dicts, and
        must choose one project and one algorithm (``ValueList("project",
        [...])``, ``ValueList("algorithm", [...])``); a whole reference-style
        query dict (``{"filters": [...], "resample": "monthly"}``) works too.
        ``resample`` is ``weekly``, ``monthly`` or ``yearly``; ``aggregator``
        combines the datapoints of all matched AoIs (e.g. ``sum``, ``mean``);
        ``columns`` keeps only those; ``keep_all_versions`` keeps every
        algorithm version matched, not only the latest.

        Example::

            points = await sk.datacube.datapoints(
                [ValueList("project", ["coal"]), ValueList("algorithm", ["ndmi_mean"]),
                 TimeRange(start="2019-01-01")],
                resample="monthly",
            )
            for row in points.data:
                print(row["aoi"], row["startDatetime"], row["value"])
        """
        body = datapoints_body(
            filters,
            {
                "aggregator": aggregator,
                "resample": resample,
                "columns": columns,
                "show_aoi_positions": show_aoi_positions,
                "show_aoi_tags": show_aoi_tags,
                "postprocess_type": postprocess_type,
                "keep_duplicates": keep_duplicates,
                "keep_all_versions": keep_all_versions,
            },
        )
        data = await self._ctx.transport.request_json(
            "POST", DATAPOINTS, operation="datacube.datapoints", json=body, idempotent=True
        )
        return from_wire(data, Datapoints, operation="datacube.datapoints", path=DATAPOINTS)

    async def datapoints_job(
        self,
        filters: FiltersArg,
        *,
        aggregator: str | None = None,
        resample: str | None = None,
        columns: Sequence[str] | None = None,
        show_aoi_positions: bool | None = None,
        show_aoi_tags: bool | None = None,
        postprocess_type: str | None = None,
        keep_duplicates: bool | None = None,
        keep_all_versions: bool | None = None,
    ) -> Job[Datapoints]:
        """:meth:`datapoints` as a pipeline, for queries too large for one request.

        Returns the :class:`~eoclient.jobs.Job` once the query is accepted;
        ``await job`` gives the :class:`Datapoints` (or raises
        :class:`~eoclient.errors.JobFailedError`).
        """
        body = datapoints_body(
            filters,
            {
                "aggregator": aggregator,
                "resample": resample,
                "columns": columns,
                "show_aoi_positions": show_aoi_positions,
                "show_aoi_tags": show_aoi_tags,
                "postprocess_type": postprocess_type,
                "keep_duplicates": keep_duplicates,
                "keep_all_versions": keep_all_versions,
            },
        )
        return await initiate(
            self._ctx,
            DATAPOINTS_INITIATE,
            body,
            retrieve=DATAPOINTS_RETRIEVE,
            result=Datapoints,
            operation="datacube.datapoints-initiate",
            idempotent=True,  # a query: a second pipeline costs nothing
        )

    # -- products --

    def products(self, *, downloadable_only: bool = False) -> Paginator[Product, NoCursor]:
        """The SpaceKnow products of the Datacube (only those you can download, if asked)."""
        if not isinstance(downloadable_only, bool):
            raise ValidationError("downloadable_only", "must be a bool")
        body = {"downloadableOnly": True} if downloadable_only else {}
        op = "datacube.products"
        return self._single_page(
            PRODUCTS, body, lambda data: from_wire(data, list[Product], operation=op, path=PRODUCTS), op
        )

    async def product(self, product_id: str) -> Product:
        """One product's metadata; :class:`~eoclient.errors.NotFoundError` if there is none."""
        op = "datacube.products"
        data = await self._ctx.transport.request_json(
            "POST", PRODUCTS, operation=op, json={"productId": _product_id(product_id)}, idempotent=True
        )
        found = from_wire(data, list[Product], operation=op, path=PRODUCTS)
        match = [p for p in found if p.product_id == product_id]
        if not match:
            raise NotFoundError(
                status=404,
                code="PRODUCT-NOT-FOUND",
                service_message=f"no product {product_id!r}",
                operation=op,
                method="POST",
                path=PRODUCTS,
                service="spaceknow",
            )
        return match[0]

    async def _text(self, path: str, body: dict[str, Any], operation: str) -> str:
        resp = await self._ctx.transport.request(
            "POST", path, operation=operation, json=body, idempotent=True, expect=_CSV_ANSWER
        )
        header = resp.headers.get("Content-Type", "")
        return _csv_text(resp.body, resp.content_type, header, operation=operation, path=resp.path)

    async def product_csv(
        self, product_id: str, *, pit_dt: date | str | None = None, csv_format: str = "simple"
    ) -> str:
        """The product's CSV as text (``pit_dt``: the data as it was known on that date).

        ``csv_format`` is ``simple`` or ``rich`` (more columns on every row).
        For large products prefer :meth:`iter_product_rows`.
        """
        body = _product_body(product_id, pit_dt, csv_format)
        return await self._text(PRODUCT_CSV, body, "datacube.product-csv")

    async def product_rows(
        self, product_id: str, *, pit_dt: date | str | None = None, csv_format: str = "simple"
    ) -> list[dict[str, str]]:
        """The product's CSV parsed into rows keyed by its header (values stay strings)."""
        text = await self.product_csv(product_id, pit_dt=pit_dt, csv_format=csv_format)
        return parse_csv(text, operation="datacube.product-csv", path=PRODUCT_CSV)

    def iter_product_rows(
        self, product_id: str, *, pit_dt: date | str | None = None, csv_format: str = "simple"
    ) -> AsyncGenerator[dict[str, str], None]:
        """The product's CSV rows as they arrive, without holding the whole CSV in memory.

        The arguments are checked now, the request is sent when iteration
        starts. Close the iterator if you stop early (``contextlib.aclosing``)
        so the connection is released at once.
        """
        body = _product_body(product_id, pit_dt, csv_format)
        return self._stream_rows(PRODUCT_CSV, body, "datacube.product-csv")

    async def _stream_rows(
        self, path: str, body: dict[str, Any], operation: str
    ) -> AsyncGenerator[dict[str, str], None]:
        async with self._ctx.transport.stream(
            "POST", path, operation=operation, json=body, idempotent=True, expect=_CSV_ANSWER
        ) as resp:
            if resp.content_type == "application/json":
                # Not a stream of lines but one JSON string: it has to be read whole.
                raw = await resp.read()
                text = _csv_text(raw, resp.content_type, "", operation=operation, path=resp.path)
                for row in parse_csv(text, operation=operation, path=resp.path):
                    yield row
                return
            splitter = CsvRecords(_charset(resp.headers.get("Content-Type", "")))
            parser = _Rows(operation, resp.path)
            async for chunk in resp.iter_chunks():
                for row in parser.rows(splitter.feed(chunk)):
                    yield row
            for row in parser.rows(splitter.close()):
                yield row

    async def data_dictionary(self, product_id: str) -> str:
        """The product's data dictionary (one line per column: topic, region, units...) as CSV text."""
        body = {"productId": _product_id(product_id)}
        return await self._text(DATA_DICTIONARY, body, "datacube.data-dictionary")

    async def data_dictionary_rows(self, product_id: str) -> list[dict[str, str]]:
        """The data dictionary parsed into rows keyed by its header (``column_id``, ``topic``...)."""
        text = await self.data_dictionary(product_id)
        return parse_csv(text, operation="datacube.data-dictionary", path=DATA_DICTIONARY)

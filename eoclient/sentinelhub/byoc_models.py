"""Wire models of the BYOC (Bring Your Own COG) API: collections, bands, tiles, downloads.

Names follow the OpenAPI schemas ``BYOCCollection``, ``BYOCFormat``,
``BYOCCollectionAdditionalData``, ``BYOCTile`` and ``BYOCTileAdditionalData``;
unknown fields from the server are ignored. Every method of
:class:`~eoclient.sentinelhub.byoc.BYOC` that takes one of these also takes a
plain dict pasted from the documentation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from eoclient._checks import optional_text
from eoclient._models import Model, from_user
from eoclient.arrays import Raster, read, to_dataarray
from eoclient.errors import ValidationError
from eoclient.geo import as_geojson

__all__ = [
    "MAX_BANDS",
    "TILE_STATUSES",
    "BandFormat",
    "Collection",
    "CollectionAdditionalData",
    "Tile",
    "TileAdditionalData",
    "TileFileDownload",
    "TileStatus",
    "TileUpdate",
]

T = TypeVar("T")

MAX_BANDS: Final = 100
"""A collection holds at most this many bands."""

TileStatus = Literal["WAITING", "QUEUED", "INGESTING", "INGESTED", "FAILED"]
TILE_STATUSES: Final[frozenset[str]] = frozenset({"WAITING", "QUEUED", "INGESTING", "INGESTED", "FAILED"})
"""Statuses a tile goes through (``INGESTED`` and ``FAILED`` are final)."""

# ``BYOCTile.path``: no leading or trailing slash, no empty segment.
_PATH_RE: Final = re.compile(r"^([^/](/?[^/])*)?$")


class BandFormat(Model):
    """One band of a collection (``BYOCFormat``); ``bandIndex`` is 1-based."""

    bit_depth: Literal[8, 16, 32]
    sample_format: Literal["UINT", "INT", "FLOAT"]
    source: str | None = None
    band_index: int | None = None
    no_data: float | None = None
    aliases: list[str] | None = None  # read-only: set by the service for some collections


class CollectionAdditionalData(Model):
    """``BYOCCollectionAdditionalData``: the bands, plus metadata the service computes."""

    bands: dict[str, BandFormat] | None = None
    max_meters_per_pixel: float | None = None
    extent: dict[str, Any] | None = None
    has_sensing_times: str | None = None
    from_sensing_time: datetime | None = None
    to_sensing_time: datetime | None = None


class Collection(Model):
    """A BYOC collection (``BYOCCollection``): ``name`` and ``s3Bucket`` are required.

    The service sets ``id``: every collection it answers has one (an answer
    without is a :class:`~eoclient.errors.ResponseDecodeError`).

    Example::

        Collection(
            name="my ndvi",
            s3_bucket="my-bucket",
            additional_data=CollectionAdditionalData(
                bands={"NDVI": BandFormat(bit_depth=32, sample_format="FLOAT")}
            ),
        )
    """

    required_in_answers = ("id",)

    name: str
    s3_bucket: str
    id: str | None = None
    account_id: str | None = None
    is_configured: bool | None = None
    created: datetime | None = None
    no_data: float | None = None
    requires_metadata_update: bool | None = None
    additional_data: CollectionAdditionalData | None = None

    @property
    def bands(self) -> dict[str, BandFormat]:
        """The bands by name (empty when none are configured)."""
        if self.additional_data is None or self.additional_data.bands is None:
            return {}
        return self.additional_data.bands


class TileAdditionalData(Model):
    """``BYOCTileAdditionalData``: why ingestion failed, and warnings."""

    failed_ingestion_cause: str | None = None
    warnings: str | None = None


class Tile(Model):
    """A BYOC tile (``BYOCTile``): ``path`` is required, the rest is set by the service or optional.

    ``path`` is the location in the bucket and may use the ``(BAND)``
    placeholder, e.g. ``"folder/prefix_(BAND)"``. ``coverGeometry`` is a
    GeoJSON Polygon or MultiPolygon. The service sets ``id`` and ``status``: every
    tile it answers has them (an answer without is a
    :class:`~eoclient.errors.ResponseDecodeError`).
    """

    required_in_answers = ("id", "status")

    path: str
    id: str | None = None
    status: str | None = None  # a TileStatus; kept open for statuses added later
    tile_geometry: dict[str, Any] | None = None
    cover_geometry: dict[str, Any] | None = None
    sensing_time: datetime | None = None
    additional_data: TileAdditionalData | None = None
    created: datetime | None = None

    @property
    def is_final(self) -> bool:
        """True once ingestion ended (``INGESTED`` or ``FAILED``)."""
        return self.status in ("INGESTED", "FAILED")


class TileUpdate(Model):
    """``BYOCTileUpdatePayload``: what can be changed on an existing tile."""

    cover_geometry: dict[str, Any] | None = None
    sensing_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class TileFileDownload:
    """A downloaded file of a Planet tile: where it is, how big, how many resumes it took."""

    path: Path
    size: int
    resumes: int = 0

    def to_raster(self) -> Raster:
        """The file decoded (a GeoTIFF, as BYOC tiles are), georeferenced by its own tags.

        Needs ``pip install 'eoclient[arrays]'``.
        """
        return read(self.path)

    def to_numpy(self) -> Any:
        """The file's pixels as a numpy array, band axis last."""
        return self.to_raster().array

    def to_xarray(self, *, band_names: Sequence[str] | None = None) -> Any:
        """The file as an ``xarray.DataArray`` with the coordinates its tags give (``eoclient[xarray]``)."""
        raster = self.to_raster()
        return to_dataarray(raster.array, raster.georef, name=self.path.stem, bands=band_names)


# -- validation and wire bodies -------------------------------------------------------------


def user_model(data: Any, type_: type[T], *, field: str) -> T:
    """:func:`from_user`, naming a failing band too (``...bands.B1.bitDepth``)."""
    if isinstance(data, Model):
        data = data.to_dict()
    if isinstance(data, Mapping):
        _check_band_entries(data, field)
    return from_user(data, type_, field=field)


def _check_band_entries(data: Mapping[str, Any], field: str) -> None:
    extra = data.get("additionalData")
    bands = extra.get("bands") if isinstance(extra, Mapping) else None
    if isinstance(bands, Mapping):
        for name, band in bands.items():
            user_model(band, BandFormat, field=f"{field}.additionalData.bands.{name}")


def uuid_id(value: Any, *, field: str, prefix: str = "byoc-") -> str:
    """A canonical UUID string from a UUID, its text, or ``"byoc-<uuid>"`` as used in requests."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a UUID string, got {type(value).__name__}")
    text = value.strip()
    if prefix and text.lower().startswith(prefix):
        text = text[len(prefix) :]
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ValidationError(field, f"not a UUID: {value!r}") from None


def search_params(search: Any, count: int | None) -> dict[str, Any]:
    """The query of a searchable listing: ``search`` (text; empty lists all) and the page size."""
    return {"search": optional_text("search", search, allow_empty=True) or None, "count": page_count(count)}


def page_count(count: int | None, *, field: str = "count", maximum: int = 100) -> int | None:
    """Validate a page size (``count`` query parameter) of 1..maximum."""
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValidationError(field, f"expected an integer, got {type(count).__name__}")
    if not 1 <= count <= maximum:
        raise ValidationError(field, f"must be between 1 and {maximum}, got {count}")
    return count


def wire_time(value: datetime | str | None, *, field: str) -> str | None:
    """ISO 8601 in UTC with at most millisecond precision, as the service wants it.

    A naive datetime is taken to be UTC.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, f"not an ISO 8601 date-time: {value!r}") from None
    if not isinstance(value, datetime):
        raise ValidationError(field, f"expected a datetime or ISO 8601 text, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    millis = value.microsecond // 1000
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def area_geometry(value: Any, *, field: str) -> dict[str, Any]:
    """A GeoJSON Polygon or MultiPolygon (the only geometries a tile's cover may be).

    It may be in any CRS its GeoJSON-2008 ``crs`` member names (the service
    converts it); without one it is WGS84, as GeoJSON is, and checked as such.
    """
    geometry = as_geojson(value, field=field, own_crs=True)
    if geometry["type"] not in ("Polygon", "MultiPolygon"):
        raise ValidationError(field, f"must be a Polygon or MultiPolygon, got {geometry['type']}")
    return geometry


def _check_bands(bands: dict[str, BandFormat] | None, collection_no_data: float | None, field: str) -> None:
    if not bands:
        return
    if len(bands) > MAX_BANDS:
        raise ValidationError(f"{field}.additionalData.bands", f"at most {MAX_BANDS} bands, got {len(bands)}")
    for name, band in bands.items():
        where = f"{field}.additionalData.bands.{name}"
        if not name.strip():
            raise ValidationError(f"{field}.additionalData.bands", "a band name must not be empty")
        if band.band_index is not None and band.band_index < 1:
            raise ValidationError(f"{where}.bandIndex", "is 1-based: must be >= 1")
        if band.no_data is not None and collection_no_data is not None:
            # The reference: "noData either per band or per collection, but not both".
            raise ValidationError(f"{where}.noData", "noData is set on the collection too; set one of them")


def _bands_wire(bands: dict[str, BandFormat]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, band in bands.items():
        wire = band.to_dict()
        wire.pop("aliases", None)  # read-only
        out[name] = wire
    return out


def collection_body(data: Any, *, field: str = "collection", update: bool = False) -> dict[str, Any]:
    """The JSON body to create (``BYOCCollection``) or update (``BYOCCollectionUpdatePayload``)."""
    coll = user_model(data, Collection, field=field)
    if not coll.name.strip():
        raise ValidationError(f"{field}.name", "must not be empty")
    if not coll.s3_bucket.strip():
        raise ValidationError(f"{field}.s3Bucket", "must not be empty")
    extra = coll.additional_data
    _check_bands(extra.bands if extra else None, coll.no_data, field)
    body: dict[str, Any] = {"name": coll.name, "s3Bucket": coll.s3_bucket}
    if coll.is_configured is not None and not update:
        body["isConfigured"] = coll.is_configured
    if coll.no_data is not None:
        body["noData"] = coll.no_data
    if extra is not None:
        # Only bands are writable; without "bands" an update removes them all.
        body["additionalData"] = {"bands": _bands_wire(extra.bands)} if extra.bands is not None else {}
    return body


def tile_body(data: Any, *, field: str = "tile") -> dict[str, Any]:
    """The JSON body to create a tile (``BYOCTile`` without its read-only fields)."""
    if isinstance(data, dict) and "coverGeometry" in data and data["coverGeometry"] is not None:
        # Checked before conversion so that shapely & co. objects are accepted too.
        data = {**data, "coverGeometry": area_geometry(data["coverGeometry"], field=f"{field}.coverGeometry")}
    tile = user_model(data, Tile, field=field)
    if not _PATH_RE.match(tile.path):
        raise ValidationError(f"{field}.path", f"no leading/trailing slash or '//' allowed: {tile.path!r}")
    body: dict[str, Any] = {"path": tile.path}
    if tile.cover_geometry is not None:
        body["coverGeometry"] = area_geometry(tile.cover_geometry, field=f"{field}.coverGeometry")
    if tile.sensing_time is not None:
        body["sensingTime"] = wire_time(tile.sensing_time, field=f"{field}.sensingTime")
    return body


def tile_update_body(data: Any, *, field: str = "tile") -> dict[str, Any]:
    """The JSON body of a tile update (``BYOCTileUpdatePayload``).

    A dict sends exactly the keys it has (``"sensingTime": None`` clears it);
    a :class:`Tile` or :class:`TileUpdate` sends its cover geometry (if any)
    and its sensing time (``null`` if unset), i.e. the tile as it should be.
    """
    body: dict[str, Any] = {}
    if isinstance(data, dict):
        unknown = set(data) - {"coverGeometry", "sensingTime"}
        if unknown:
            raise ValidationError(
                f"{field}.{sorted(unknown)[0]}", "only coverGeometry and sensingTime can change"
            )
        if data.get("coverGeometry") is not None:
            body["coverGeometry"] = area_geometry(data["coverGeometry"], field=f"{field}.coverGeometry")
        if "sensingTime" in data:
            body["sensingTime"] = wire_time(data["sensingTime"], field=f"{field}.sensingTime")
        if not body:
            raise ValidationError(field, "nothing to update: give coverGeometry and/or sensingTime")
        return body
    if not isinstance(data, Tile | TileUpdate):
        raise ValidationError(field, f"expected a Tile, TileUpdate or dict, got {type(data).__name__}")
    if data.cover_geometry is not None:
        body["coverGeometry"] = area_geometry(data.cover_geometry, field=f"{field}.coverGeometry")
    body["sensingTime"] = wire_time(data.sensing_time, field=f"{field}.sensingTime")
    return body


def file_list(data: Any) -> Any:
    """The files of a tile as a JSON array (also from the ``{"0": name, ...}`` form the docs show)."""
    if isinstance(data, dict):
        return [data[k] for k in sorted(data, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return data

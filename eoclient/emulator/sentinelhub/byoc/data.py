"""The emulated BYOC data: collections and tiles, tile statuses on the clock, the band rules.

A refused change is a :class:`~eoclient.emulator.core.refusal.Refusal` (400)
in Sentinel Hub's shape; the rules are the reference's (see the package
docstring).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState

__all__ = [
    "INGEST_SECONDS",
    "PATH_RE",
    "PLANET_BUCKET_PREFIX",
    "TILE_STATUSES",
    "ByocStore",
    "Collection",
    "Tile",
    "band_types",
    "bounds_of",
    "byoc_store",
    "collection_json",
    "default_cover",
    "iso",
    "matches",
    "new_id",
    "number",
    "parse_bands",
    "parse_geometry",
    "parse_sensing_time",
    "required_str",
    "tile_json",
    "tile_status",
    "updated_bands",
]

_PHASES: Final = (("WAITING", 2.0), ("QUEUED", 3.0), ("INGESTING", 10.0))
INGEST_SECONDS: Final = sum(seconds for _, seconds in _PHASES)
"""Emulated seconds from creation (or reingestion) to a final tile status."""
PLANET_BUCKET_PREFIX: Final = "sh.tpdi."
_MAX_BANDS: Final = 100
PATH_RE: Final = re.compile(r"^([^/](/?[^/])*)?$")
_BIT_DEPTHS: Final = (8, 16, 32)
_SAMPLE_FORMATS: Final = ("UINT", "INT", "FLOAT")
TILE_STATUSES: Final = ("WAITING", "QUEUED", "INGESTING", "INGESTED", "FAILED")


@dataclass
class Collection:
    """One BYOC collection (its tiles are in :attr:`ByocStore.tiles`)."""

    id: str
    account_id: str
    name: str
    s3_bucket: str
    created: float
    no_data: float | None = None
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Tile:
    """One tile of a collection; its status follows the clock from ``ingest_started``."""

    id: str
    path: str
    seq: int
    created: float
    ingest_started: float
    cover_geometry: dict[str, Any] | None = None
    sensing_time: str | None = None


@dataclass
class ByocStore:
    """The emulated BYOC data of one emulator, plus test knobs (see the module docstring)."""

    account_id: str
    collections: dict[str, Collection] = field(default_factory=dict)
    tiles: dict[str, dict[str, Tile]] = field(default_factory=dict)
    seq: int = 0
    default_page: int = 5
    head_size_skew: dict[str, int] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    range_requests: list[tuple[str, str]] = field(default_factory=list)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def byoc_store(state: EmulatorState) -> ByocStore:
    """The BYOC store of an emulator's state (created on first use)."""
    return state.store("sh_byoc", lambda: ByocStore(account_id=new_id(state)))


def new_id(state: EmulatorState) -> str:
    """A UUID drawn from the emulator's seeded random source."""
    return str(uuid.UUID(int=state.rng.getrandbits(128), version=4))


def iso(epoch: float) -> str:
    """Emulated epoch seconds as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def matches(search: str, name: str, bucket: str, ident: str) -> bool:
    """A word matches a part of the name or bucket, or the whole id."""

    def word(term: str) -> bool:
        term = term.strip().lower()
        return term in name.lower() or term in bucket.lower() or term == ident

    return any(all(word(t) for t in group.split("&") if t.strip()) for group in search.split("|"))


# -- collections ---------------------------------------------------------------------------


def tile_status(tile: Tile, now: float) -> str:
    """The status of ``tile`` at emulated time ``now``."""
    elapsed = now - tile.ingest_started
    for status, seconds in _PHASES:
        if elapsed < seconds:
            return status
        elapsed -= seconds
    return "FAILED" if "fail" in tile.path.lower() else "INGESTED"


def bounds_of(geometry: dict[str, Any] | None) -> tuple[float, float, float, float] | None:
    if not geometry:
        return None
    flat: list[float] = []
    stack: list[Any] = [geometry.get("coordinates")]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if len(item) == 2 and all(isinstance(v, int | float) for v in item):
                flat.extend(float(v) for v in item)
            else:
                stack.extend(item)
    if not flat:
        return None
    xs, ys = flat[0::2], flat[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def default_cover(tile: Tile) -> dict[str, Any]:
    """A small lon/lat box somewhere in Europe, fixed per path."""
    h = int.from_bytes(hashlib.sha256(tile.path.encode()).digest()[:8], "big")
    lon = 5.0 + (h % 2000) / 100.0
    lat = 40.0 + (h // 2000 % 1500) / 100.0
    return _box(round(lon, 4), round(lat, 4), round(lon + 0.2, 4), round(lat + 0.2, 4))


def collection_json(coll: Collection, store: ByocStore, now: float) -> dict[str, Any]:
    """A collection as the service answers it (extent and sensing times from its ingested tiles)."""
    extra: dict[str, Any] = {}
    if coll.bands:
        extra["bands"] = {name: dict(band) for name, band in coll.bands.items()}
    ingested = [t for t in store.tiles.get(coll.id, {}).values() if tile_status(t, now) == "INGESTED"]
    if ingested:
        boxes = [b for b in (bounds_of(t.cover_geometry or default_cover(t)) for t in ingested) if b]
        if boxes:
            extra["extent"] = _box(
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
        times = sorted(t.sensing_time for t in ingested if t.sensing_time)
        extra["hasSensingTimes"] = "YES" if len(times) == len(ingested) else "PARTIALLY" if times else "NO"
        if times:
            extra["fromSensingTime"], extra["toSensingTime"] = times[0], times[-1]
    out: dict[str, Any] = {
        "id": coll.id,
        "accountId": coll.account_id,
        "name": coll.name,
        "s3Bucket": coll.s3_bucket,
        "isConfigured": bool(coll.bands),
        "created": iso(coll.created),
        "requiresMetadataUpdate": False,
        "additionalData": extra,
    }
    if coll.no_data is not None:
        out["noData"] = coll.no_data
    return out


def number(value: Any, where: str) -> float | None:
    """An optional number field (``None`` when absent); refused when not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refusal(400, None, f"{where} must be a number")
    return float(value)


def required_str(body: dict[str, Any], name: str) -> str:
    """A required non-empty string field of ``body``."""
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refusal(400, None, f"{name} is required and must be a non-empty string")
    return value


def parse_bands(body: dict[str, Any], collection_no_data: float | None) -> dict[str, dict[str, Any]] | None:
    """The bands of a create/update body (``None``: no ``additionalData`` given), checked."""
    extra = body.get("additionalData")
    if extra is None:
        return None
    if not isinstance(extra, dict):
        raise Refusal(400, None, "additionalData must be an object")
    raw = extra.get("bands") or {}
    if not isinstance(raw, dict):
        raise Refusal(400, None, "additionalData.bands must be an object")
    if len(raw) > _MAX_BANDS:
        raise Refusal(400, None, f"a collection can have at most {_MAX_BANDS} bands")
    bands: dict[str, dict[str, Any]] = {}
    for name, band in raw.items():
        where = f"additionalData.bands.{name}"
        if not isinstance(band, dict) or not name.strip():
            raise Refusal(400, None, f"{where} must be an object with a non-empty name")
        if band.get("bitDepth") not in _BIT_DEPTHS:
            raise Refusal(400, None, f"{where}.bitDepth must be one of {list(_BIT_DEPTHS)}")
        if band.get("sampleFormat") not in _SAMPLE_FORMATS:
            raise Refusal(400, None, f"{where}.sampleFormat must be one of {list(_SAMPLE_FORMATS)}")
        index = band.get("bandIndex", 1)
        if isinstance(index, bool) or not isinstance(index, int) or index < 1:
            raise Refusal(400, None, f"{where}.bandIndex must be an integer >= 1")
        source = band.get("source")
        if source is not None and not isinstance(source, str):
            raise Refusal(400, None, f"{where}.source must be a string")
        clean: dict[str, Any] = {
            "bitDepth": band["bitDepth"],
            "sampleFormat": band["sampleFormat"],
            "bandIndex": index,
        }
        if source is not None:
            clean["source"] = source
        no_data = number(band.get("noData"), f"{where}.noData")
        if no_data is not None:
            if collection_no_data is not None:
                raise Refusal(
                    400, None, "noData can be defined either per band or per collection, but not both"
                )
            clean["noData"] = no_data
        bands[name] = clean
    return bands


_FIXED_PROPS: Final = ("bitDepth", "sampleFormat", "bandIndex", "source")


def _same_band(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """The first fixed property in which ``new`` differs from ``old`` (``source`` only if given)."""
    for prop in _FIXED_PROPS:
        if prop == "source" and "source" not in new:
            continue
        if old.get(prop) != new.get(prop):
            return prop
    return None


def updated_bands(
    coll: Collection, new: dict[str, dict[str, Any]], has_tiles: bool
) -> dict[str, dict[str, Any]]:
    """Apply the reference's band rules to an update; returns the bands to store."""
    old = coll.bands
    for name, band in new.items():
        if name in old and old[name]["sampleFormat"] != band["sampleFormat"]:
            raise Refusal(400, None, f"band {name}: once the sample format is set it cannot be changed")
    if not has_tiles:
        return {name: {**band, "source": band.get("source", name)} for name, band in new.items()}
    if old and not new:
        raise Refusal(400, None, "to remove all bands, first empty the collection (it has tiles)")
    result: dict[str, dict[str, Any]] = {}
    renamed_from = [name for name in old if name not in new]
    for name, band in new.items():
        if name in old:
            base = old[name]
        else:
            # A new name is a rename of a vanished band with the same fixed properties.
            match = next((o for o in renamed_from if _same_band(old[o], band) is None), None)
            if match is None:
                raise Refusal(400, None, f"band {name}: bands cannot be added once the collection has tiles")
            renamed_from.remove(match)
            base = old[match]
        prop = _same_band(base, band)
        if prop is not None:
            raise Refusal(400, None, f"band {name}: {prop} cannot be changed once the collection has tiles")
        merged = {k: v for k, v in base.items() if k != "noData"}
        if "noData" in band:
            merged["noData"] = band["noData"]
        result[name] = merged
    return result


def band_types(coll: Collection) -> dict[str, tuple[Any, Any]]:
    """Each band's ``(sampleFormat, bitDepth)``: what a copy target must match."""
    return {name: (b["sampleFormat"], b["bitDepth"]) for name, b in coll.bands.items()}


def tile_json(tile: Tile, now: float) -> dict[str, Any]:
    """A tile as the service answers it at emulated time ``now``."""
    status = tile_status(tile, now)
    out: dict[str, Any] = {
        "id": tile.id,
        "path": tile.path,
        "status": status,
        "created": iso(tile.created),
        "sensingTime": tile.sensing_time,
        "additionalData": {},
    }
    if tile.cover_geometry is not None:
        out["coverGeometry"] = tile.cover_geometry
    if status == "INGESTED":
        cover = tile.cover_geometry or default_cover(tile)
        out["coverGeometry"] = cover
        bounds = bounds_of(cover)
        if bounds:
            out["tileGeometry"] = _box(*bounds)
    elif status == "FAILED":
        out["additionalData"]["failedIngestionCause"] = (
            f"Could not read {tile.path}: the file is not a Cloud Optimized GeoTIFF"
        )
    return out


def parse_geometry(value: Any) -> dict[str, Any] | None:
    """A tile's ``coverGeometry`` (``None`` when absent): a GeoJSON (Multi)Polygon."""
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("type") not in ("Polygon", "MultiPolygon")
        or not isinstance(value.get("coordinates"), list)
        or bounds_of(value) is None
    ):
        raise Refusal(400, None, "coverGeometry must be a GeoJSON Polygon or MultiPolygon")
    return value


def parse_sensing_time(value: Any) -> str | None:
    """A tile's ``sensingTime`` (``None`` when absent), normalized to ISO 8601 UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refusal(400, None, "sensingTime must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Refusal(400, None, f"sensingTime is not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed.timestamp())

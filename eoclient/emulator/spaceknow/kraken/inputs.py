"""What Kraken requests carry, checked: geometries, scene ids, map types, numbers; and the geometry they need.

Every check raises a 400 :class:`~eoclient.emulator.core.refusal.Refusal`
(``BAD-REQUEST``, ``UNKNOWN-MAP-TYPE``; unknown scenes 404
``SCENE-NOT-FOUND``). Boxes are ``(min_lon, min_lat, max_lon, max_lat)``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.algorithms import ALGORITHMS, MapType
from eoclient.emulator.spaceknow.common import scene_not_found
from eoclient.emulator.spaceknow.kraken.maps import BBox
from eoclient.emulator.spaceknow.scenes import DATETIME_FORMAT

__all__ = [
    "KM_PER_DEG",
    "digest",
    "find_scenes",
    "geometry_bbox",
    "gsd",
    "intersection",
    "km2",
    "deepest_zoom",
    "read_map_types",
    "read_number",
    "orbit_group",
    "same_datetime",
    "read_scene_ids",
    "scene_time",
]


KM_PER_DEG: Final = 111.32


def _coords(value: Any, where: str) -> Iterable[tuple[float, float]]:
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, int | float) for v in value[:2]):
        yield float(value[0]), float(value[1])
        return
    if not isinstance(value, list) or not value:
        raise Refusal(400, "BAD-REQUEST", f"{where}: malformed coordinates")
    for item in value:
        yield from _coords(item, where)


def geometry_bbox(geometry: Any, where: str) -> BBox:
    """The bounding box of a GeoJSON (Multi)Polygon, Feature or GeometryCollection; 400 if it is not one."""
    if not isinstance(geometry, dict):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a GeoJSON geometry")
    kind = geometry.get("type")
    if kind == "Feature":
        return geometry_bbox(geometry.get("geometry"), where)
    points: list[tuple[float, float]] = []
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise Refusal(400, "BAD-REQUEST", f"{where}: a GeometryCollection needs geometries")
        boxes = [geometry_bbox(p, where) for p in parts]
        return (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    if kind not in ("Polygon", "MultiPolygon"):
        raise Refusal(400, "BAD-REQUEST", f"{where} must be a Polygon or MultiPolygon, not {kind!r}")
    points = list(_coords(geometry.get("coordinates"), where))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = (min(xs), min(ys), max(xs), max(ys))
    if box[0] < -180 or box[2] > 180 or box[1] < -90 or box[3] > 90:
        raise Refusal(400, "BAD-REQUEST", f"{where} must be in WGS84 longitude/latitude")
    if box[0] == box[2] or box[1] == box[3]:
        raise Refusal(400, "BAD-REQUEST", f"{where} has no area")
    return box


def read_scene_ids(body: Mapping[str, Any], key: str = "sceneIds", minimum: int = 1) -> list[str]:
    """``body[key]`` as a list of at least ``minimum`` scene ids; 400 otherwise."""
    ids = body.get(key)
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a list of scene ids")
    if len(ids) < minimum:
        raise Refusal(400, "BAD-REQUEST", f"{key} needs at least {minimum} scene id(s)")
    return ids


def find_scenes(state: EmulatorState, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The scenes of ``ids`` (world or ingested); 404 ``SCENE-NOT-FOUND`` for an unknown one."""
    out = []
    for scene_id in ids:
        scene = sk_scenes.find_scene(scene_id, state)
        if scene is None:
            raise scene_not_found(scene_id)
        out.append(scene)
    return out


def read_map_types(body: Mapping[str, Any]) -> list[MapType]:
    """The algorithms ``body["mapTypes"]`` names; 400 ``UNKNOWN-MAP-TYPE`` for an unknown one."""
    names = body.get("mapTypes")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise Refusal(400, "BAD-REQUEST", "mapTypes must be a non-empty list of map type names")
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        raise Refusal(
            400, "UNKNOWN-MAP-TYPE", f"unknown map type(s) {', '.join(unknown)}; see /kraken/algorithms"
        )
    return [ALGORITHMS[n] for n in names]


def read_number(body: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    """``body[key]`` as a finite number (``default`` when absent or null); 400 otherwise."""
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refusal(400, "BAD-REQUEST", f"{key} must be a number")
    return float(value)


def intersection(a: BBox, b: BBox) -> BBox | None:
    """The common box of ``a`` and ``b``, ``None`` when they do not overlap with an area."""
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[0] < box[2] and box[1] < box[3] else None


def km2(box: BBox | None) -> float:
    """The area of ``box`` in km² (0 for ``None``)."""
    if box is None:
        return 0.0
    mid = math.radians((box[1] + box[3]) / 2)
    return (box[2] - box[0]) * KM_PER_DEG * math.cos(mid) * (box[3] - box[1]) * KM_PER_DEG


def gsd(scene: Mapping[str, Any]) -> float:
    """The finest ground sample distance (m) of the scene's bands."""
    return min(float(b["gsd"]) for b in scene["bands"])


def deepest_zoom(scenes: Sequence[dict[str, Any]]) -> int:
    # Web-mercator ground resolution at zoom z is 156543 / 2**z metres per pixel (256 px tiles).
    """A map's ``maxZoom``: the web-mercator zoom of the finest scene resolution, within [10, 19]."""
    finest = min(gsd(s) for s in scenes)
    return max(10, min(19, math.ceil(math.log2(156543.03 / finest))))


def scene_time(scene: Mapping[str, Any]) -> datetime:
    """The scene's datetime."""
    return datetime.strptime(scene["datetime"], DATETIME_FORMAT)


def orbit_group(scene: Mapping[str, Any]) -> tuple[str, str, str]:
    # The synthetic world has one relative orbit per dataset and area (foreignId is "<area>-<time>").
    """The scenes that may be paired or grouped together: ``(provider, dataset, area)``."""
    return scene["provider"], scene["dataset"], str(scene["foreignId"]).rsplit("-", 1)[0]


def same_datetime(scenes: Sequence[dict[str, Any]]) -> str | None:
    """The failure text when two scenes of one orbit group share a datetime, else ``None``."""
    seen: dict[tuple[tuple[str, str, str], str], str] = {}
    for scene in scenes:
        key = (orbit_group(scene), scene["datetime"])
        if key in seen:
            return (
                f"SCENES-WITH-SAME-DATETIME: scenes {seen[key]} and {scene['sceneId']} share the datetime "
                f"{scene['datetime']}; deduplicate scenes on datetime first"
            )
        seen[key] = scene["sceneId"]
    return None


def digest(value: Any, length: int) -> str:
    """A URL-safe id of ``length`` characters derived from the JSON of ``value``."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")[:length]

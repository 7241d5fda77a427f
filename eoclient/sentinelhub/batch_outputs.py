"""Where a batch request writes its tiles, read back from its record: the layouts its outputs follow.

Batch v2 writes each processed tile's outputs at ``output.delivery.s3.url``:
a plain URL means ``<url>/<requestId>/<tileName>/<outputId>.<format>``, a
template is filled (``<requestId>``, ``<tileName>``, ``<outputId>``,
``<format>``). A Zarr output (``output.type: zarr``) is one group at the URL
(``<requestId>`` filled in) with an array per output: ``<array>/.zarray``,
``.zattrs`` and its chunks, listed per array. The legacy API writes at
``output.defaultTilePath`` (or ``s3://<bucketName>``), with per-response
``tilePath`` overrides, or into ``zarrOutput.path``; its templates may also
use ``<tileId>``.

A raster delivery is complete when every tile seen has all its outputs
(one per response identifier): a tile whose files are still partly missing
after the job ends is waited for. The API does not say how many tiles a
v2 request has, so the last tiles are those the store shows once a listing
after the end finds nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eoclient.sentinelhub.deliveries import readable
from eoclient.storage.outputs import Layout, Output, output_of
from eoclient.storage.store import ObjectStore, StoredObject

__all__ = ["DEFAULT_TAIL", "BatchPlan", "plan_of", "v1_plan", "v2_plan"]

DEFAULT_TAIL: Final = "/<requestId>/<tileName>/<outputId>.<format>"
"""What a plain (untemplated) tile path means."""


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """Where one batch request's outputs are: layouts, the identifiers each tile writes, Zarr or not."""

    request_id: str
    layouts: tuple[Layout, ...]
    identifiers: tuple[str, ...]
    zarr: bool

    def describe(self, store: ObjectStore, obj: StoredObject, fields: Mapping[str, str], path: str) -> Output:
        """The :class:`Output` of a listed object, naming its tile and output (or its Zarr array)."""
        if self.zarr:  # <array>/<chunk or .zarray/.zattrs>, or the group's own metadata
            return output_of(store, obj, fields, path, array=fields.get("array"))
        output = fields.get("outputId")
        if output is None and len(self.identifiers) == 1:
            output = self.identifiers[0]
        return output_of(store, obj, fields, path, tile=fields.get("tileName"), output=output)

    def missing(self, seen: Sequence[Output]) -> list[str]:
        """The outputs of the tiles seen that are not in the store yet (rasters only)."""
        if self.zarr:
            return []
        tiles: dict[str, set[str]] = {}
        for out in seen:
            name = out.tile or (str(out.tile_id) if out.tile_id is not None else None)
            if name is not None and out.output is not None:
                tiles.setdefault(name, set()).add(out.output)
        return [
            f"tile {tile} output {ident}"
            for tile, have in sorted(tiles.items())
            for ident in self.identifiers
            if ident not in have
        ]


def _identifiers(process_request: Any) -> tuple[str, ...]:
    output = getattr(process_request, "output", None)
    responses = getattr(output, "responses", None) or []
    found = tuple(r.identifier or "default" for r in responses)
    return found or ("default",)


def v2_plan(record: Any) -> BatchPlan | None:
    """The plan of a v2 :class:`~eoclient.sentinelhub.batch_models.BatchRequest`; None: no s3 delivery.

    A ``gs://`` delivery raises :class:`~eoclient.errors.UnsupportedOperationError` saying so.
    """
    spec = record.request
    output = getattr(spec, "output", None)
    delivery = getattr(output, "delivery", None)
    s3 = getattr(delivery, "s3", None)
    if s3 is None:
        gs = getattr(delivery, "gs", None)
        if gs is not None:
            readable(getattr(gs, "url", None), f"batch request {record.id}")
        return None
    known = {"requestId": record.id}
    identifiers = _identifiers(getattr(spec, "process_request", None))
    if getattr(output, "type", None) == "zarr":
        root = s3.url.replace("<requestId>", record.id).rstrip("/")
        return BatchPlan(
            record.id, (Layout(root + "/<item>", known), _zarr_array(root, known)), identifiers, True
        )
    return BatchPlan(record.id, (_tile_layout(s3.url, known),), identifiers, False)


def _zarr_array(root: str, known: Mapping[str, str]) -> Layout:
    return Layout(root + "/<array>/<item>", known)


def _tile_layout(url: str, known: Mapping[str, str]) -> Layout:
    template = url if "<" in url else url.rstrip("/") + DEFAULT_TAIL
    return Layout(template, known)


@dataclass(frozen=True, slots=True)
class _V1Plan(BatchPlan):
    """A legacy plan whose per-output ``tilePath`` layouts each hold one known output."""

    fixed: tuple[tuple[Layout, str], ...] = ()  # (override layout, its response identifier)

    def describe(self, store: ObjectStore, obj: StoredObject, fields: Mapping[str, str], path: str) -> Output:
        """As :meth:`BatchPlan.describe`; a key of a ``tilePath`` override names that override's output."""
        for layout, ident in self.fixed:
            if layout.bucket == store.bucket and layout.match(obj.key) is not None:
                return output_of(store, obj, fields, path, tile=fields.get("tileName"), output=ident)
        return BatchPlan.describe(self, store, obj, fields, path)

    def missing(self, seen: Sequence[Output]) -> list[str]:
        """As :meth:`BatchPlan.missing`; a tile is known by its id, from ``<tileId>`` or ``tile-<id>``."""
        if self.zarr:
            return []
        tiles: dict[str, set[str]] = {}
        for out in seen:
            name = str(out.tile_id) if out.tile_id is not None else out.tile
            if name is not None and out.output is not None:
                tiles.setdefault(name, set()).add(out.output)
        return [
            f"tile {tile} output {ident}"
            for tile, have in sorted(tiles.items())
            for ident in self.identifiers
            if ident not in have
        ]


def v1_plan(record: Any) -> BatchPlan | None:
    """The plan of a legacy :class:`~eoclient.sentinelhub.batch_v1_models.BatchV1Request`; None: not on S3.

    ``zarrOutput.path`` (``<requestId>`` filled in), else ``bucketName``
    (``s3://<bucketName>``) or ``output.defaultTilePath``, with each
    ``output.responses[].tilePath`` override as a layout of its own (its
    ``<outputId>`` known). Templates may use ``<tileId>`` as well as ``<tileName>``.
    """
    known = {"requestId": record.id}
    identifiers = _identifiers(record.process_request)
    zarr = record.zarr_output
    if zarr is not None and zarr.path:
        if not zarr.path.startswith("s3://"):
            return None
        root = zarr.path.replace("<requestId>", record.id).rstrip("/")
        return BatchPlan(
            record.id, (Layout(root + "/<item>", known), _zarr_array(root, known)), identifiers, True
        )
    output = record.output
    if record.bucket_name:
        default = f"s3://{record.bucket_name}"
    elif output is not None and output.default_tile_path:
        default = output.default_tile_path
    else:
        return None
    overrides = {
        item.identifier or "default": item.tile_path
        for item in (getattr(output, "responses", None) or [])
        if item.tile_path and (item.identifier or "default") in identifiers
    }
    if not all(url.startswith("s3://") for url in [default, *overrides.values()]):
        return None
    fixed = tuple(
        (_tile_layout(url, {**known, "outputId": ident}), ident) for ident, url in overrides.items()
    )
    layouts = [layout for layout, _ in fixed]
    if any(ident not in overrides for ident in identifiers):
        layouts.append(_tile_layout(default, known))  # the outputs without an override
    return _V1Plan(record.id, tuple(layouts), identifiers, False, fixed)


def plan_of(record: Any) -> BatchPlan | None:
    """The plan of a request of either API (by the fields its record has)."""
    return v1_plan(record) if hasattr(record, "tile_count") else v2_plan(record)

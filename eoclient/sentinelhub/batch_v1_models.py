"""Models and client-side checks of the legacy Batch Process API (``/api/v1/batch/process``).

The legacy API is a different contract from v2 (see :mod:`eoclient.sentinelhub.batch_v1`):
the grid is ``tilingGrid`` (``{"id", "resolution", "bufferX", "bufferY"}``),
results go to ``output.defaultTilePath``, ``bucketName`` or ``zarrOutput``,
the service reports a tile count and a cost estimate after analysis, a request
can end PARTIAL (some tiles failed; ``restartpartial`` re-runs them) or
CANCELED, and tiles and batch collections have endpoints of their own. The
``processRequest`` is the same as in v2 (:class:`~eoclient.sentinelhub.batch_models.BatchProcessRequest`).

Example::

    spec = {
        "processRequest": {...},                      # as in v2
        "tilingGrid": {"id": 0, "resolution": 60.0},
        "bucketName": "my-bucket",
        "description": "Max NDVI over Corsica",
    }
    request = await sh.batch.v1.create(spec)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from eoclient._models import Model, to_wire
from eoclient.errors import ValidationError
from eoclient.sentinelhub.batch_models import (
    BatchProcessRequest,
    CogParameters,
    ObjectStorage,
    S3Storage,
    ZarrArrayParameters,
    ZarrGroup,
    check_batch_process_request,
    check_cog,
    check_grid,
    check_outputs_named,
    check_zarr,
    delivery_url,
    prepare_spec,
)

__all__ = [
    "STATUSES",
    "TILE_STATUSES",
    "BatchCollection",
    "BatchTile",
    "BatchV1Output",
    "BatchV1OutputPath",
    "BatchV1Request",
    "BatchV1Spec",
    "BatchV1Update",
    "BatchV1Zarr",
    "TilingGridSettings",
    "prepare_batch_v1_spec",
    "prepare_batch_v1_update",
]

STATUSES: Final = (
    "CREATED",
    "ANALYSING",
    "ANALYSIS_DONE",
    "PROCESSING",
    "DONE",
    "PARTIAL",
    "FAILED",
    "CANCELED",
)
"""Every status of a legacy batch request."""

TILE_STATUSES: Final = ("PENDING", "SCHEDULED", "QUEUED", "PROCESSING", "PROCESSED", "FAILED")
"""Every status of a tile of a legacy batch request."""


class TilingGridSettings(Model):
    """``tilingGrid``: grid ``id``, ``resolution`` in grid units, optional buffers in pixels."""

    id: int
    resolution: float
    buffer_x: int | None = None
    buffer_y: int | None = None


class BatchV1OutputPath(Model):
    """``output.responses[]``: where one output (by response ``identifier``) goes instead (``tilePath``)."""

    identifier: str | None = None
    tile_path: str | None = None


class BatchV1Output(Model):
    """``output``: ``defaultTilePath`` (``s3://bucket/folder`` or a template) and COG/collection options.

    ``responses``: per-output ``tilePath`` overrides (``[{"identifier": "ndvi",
    "tilePath": "s3://bucket/ndvi/<tileId>.tif"}]``); outputs not named there
    go to ``defaultTilePath``.
    """

    default_tile_path: str | None = None
    overwrite: bool | None = None
    skip_existing: bool | None = None
    cog_output: bool | None = None
    cog_parameters: CogParameters | None = None
    create_collection: bool | None = None
    collection_id: str | None = None
    responses: list[BatchV1OutputPath] | None = None


class BatchV1Zarr(Model):
    """``zarrOutput``: the Zarr ``path``, ``group`` and array parameters."""

    path: str
    group: ZarrGroup | None = None
    array_parameters: ZarrArrayParameters | None = None
    array_overrides: dict[str, ZarrArrayParameters] | None = None


class BatchV1Spec(Model):
    """A legacy batch request as sent to ``POST /api/v1/batch/process``.

    Exactly one of ``output``, ``bucket_name`` (same as ``output.defaultTilePath
    = s3://<bucket>``) and ``zarr_output``. ``tiling_grid_id``/``resolution`` are
    the deprecated spelling of ``tiling_grid``.
    """

    process_request: BatchProcessRequest | None = None
    tiling_grid: TilingGridSettings | None = None
    output: BatchV1Output | None = None
    bucket_name: str | None = None
    zarr_output: BatchV1Zarr | None = None
    description: str | None = None
    tiling_grid_id: int | None = None
    resolution: float | None = None


class BatchV1Request(BatchV1Spec, kw_only=True):
    """A legacy batch request as the service keeps it.

    After analysis: ``tile_count``, ``tile_width_px``/``tile_height_px`` and
    ``value_estimate`` (processing units). ``status`` is one of :data:`STATUSES`.
    """

    id: str
    status: str
    error: str | None = None
    user_id: str | None = None
    account_id: str | None = None
    created: datetime | None = None
    value_estimate: float | None = None
    tile_count: int | None = None
    tile_width_px: int | None = None
    tile_height_px: int | None = None
    user_action: str | None = None
    user_action_updated: datetime | None = None

    @property
    def progress(self) -> float | None:
        """1.0 once DONE or PARTIAL (the legacy API reports no percentage)."""
        return 1.0 if self.status in ("DONE", "PARTIAL") else None

    @property
    def partial(self) -> bool:
        """Finished with failed tiles: list them with ``tiles(id, status="FAILED")``, re-run them
        with ``restart_partial(id)``."""
        return self.status == "PARTIAL"


class BatchV1RequestHead(Model, gc=False):
    """The part of a :class:`BatchV1Request` a job's status is read from (a status poll decodes only it).

    The same names, types and required fields as :class:`BatchV1Request`.
    """

    id: str
    status: str
    error: str | None = None
    user_action: str | None = None

    @property
    def progress(self) -> float | None:
        """As :attr:`BatchV1Request.progress`."""
        return 1.0 if self.status in ("DONE", "PARTIAL") else None


class BatchV1Update(Model):
    """``PUT /api/v1/batch/process/{id}``: a new ``output`` and/or ``description`` (omitted: unchanged)."""

    output: BatchV1Output | None = None
    description: str | None = None


class BatchTile(Model):
    """One output tile of a legacy batch request: ``geometry`` (WGS84), ``origin``, status, cost (PU)."""

    id: int
    request_id: str | None = None
    geometry: dict[str, Any] | None = None
    origin: dict[str, Any] | None = None
    status: str | None = None
    cost: float | None = None


class BatchCollection(Model):
    """A legacy batch collection: where ``createCollection``/``collectionId`` results are ingested.

    The service sets ``id``: every collection it answers has one.
    """

    required_in_answers = ("id",)

    name: str
    s3_bucket: str
    id: str | None = None
    account_id: str | None = None
    batch_data: dict[str, Any] | None = None
    additional_data: dict[str, Any] | None = None
    created: datetime | None = None


# -- checks ----------------------------------------------------------------------------

TILE_PATH_PLACEHOLDERS: Final = frozenset({"<requestId>", "<tileName>", "<tileId>", "<outputId>", "<format>"})
"""Placeholders of a legacy ``output.defaultTilePath`` template."""
_TILE_NAMES: Final = frozenset({"<tileName>", "<tileId>"})


def _check_output(output: BatchV1Output, request: BatchProcessRequest, field: str) -> None:
    path = output.default_tile_path
    if path is None:
        raise ValidationError(f"{field}.defaultTilePath", "is required (s3://bucket/folder or a template)")
    _, where = delivery_url(
        _s3(path), f"{field}.defaultTilePath", placeholders=TILE_PATH_PLACEHOLDERS, require_one_of=_TILE_NAMES
    )
    overridden = _check_tile_paths(output.responses or [], request.identifiers, f"{field}.responses")
    check_outputs_named(path, where, [i for i in request.identifiers if i not in overridden])
    check_cog(output, request.formats, field)


def _check_tile_paths(paths: list[BatchV1OutputPath], identifiers: list[str], field: str) -> set[str]:
    """Per-output ``tilePath`` overrides: a known identifier each, once, and a valid tile template."""
    named: set[str] = set()
    for i, item in enumerate(paths):
        ident = item.identifier or "default"
        if ident not in identifiers:
            raise ValidationError(
                f"{field}[{i}].identifier", f"{ident!r} is not a response of processRequest ({identifiers})"
            )
        if ident in named:
            raise ValidationError(f"{field}[{i}].identifier", f"{ident!r} has two tilePath overrides")
        if item.tile_path is None:
            raise ValidationError(f"{field}[{i}].tilePath", "is required (s3://bucket/folder or a template)")
        delivery_url(
            _s3(item.tile_path),
            f"{field}[{i}].tilePath",
            placeholders=TILE_PATH_PLACEHOLDERS,
            require_one_of=_TILE_NAMES,
        )
        named.add(ident)
    return named


def _s3(url: str) -> ObjectStorage:
    return ObjectStorage(s3=S3Storage(url=url))


def validate_batch_v1_spec(spec: BatchV1Spec) -> None:
    """Every client-side check of a legacy batch request; raises :class:`ValidationError`."""
    check_batch_process_request(spec.process_request)
    request = spec.process_request
    assert request is not None
    grid = spec.tiling_grid
    if grid is not None:
        check_grid(grid.id, grid.resolution, grid.buffer_x, grid.buffer_y, "tilingGrid")
    elif spec.tiling_grid_id is not None or spec.resolution is not None:
        check_grid(spec.tiling_grid_id, spec.resolution, None, None, "tilingGrid")
    else:
        raise ValidationError("tilingGrid", "is required ({'id': <grid id>, 'resolution': <grid units>})")
    given = [
        n
        for n, v in (
            ("output", spec.output),
            ("bucketName", spec.bucket_name),
            ("zarrOutput", spec.zarr_output),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValidationError(
            "output",
            "give exactly one of output, bucketName and zarrOutput"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    formats = request.formats
    zarr = spec.zarr_output is not None
    for i, fmt in enumerate(formats):
        where = f"processRequest.output.responses[{i}].format.type"
        if zarr and fmt != "zarr/array":
            raise ValidationError(where, "zarrOutput needs every response in zarr/array")
        if not zarr and fmt == "zarr/array":
            raise ValidationError(where, "zarr/array needs zarrOutput")
    if spec.output is not None:
        _check_output(spec.output, request, "output")
    elif spec.bucket_name is not None:
        name = spec.bucket_name
        if not name.strip() or "/" in name or name.startswith("s3:"):
            raise ValidationError(
                "bucketName", f"must be a bare bucket name (no s3:// nor path), got {name!r}"
            )
    else:
        zarr_output = spec.zarr_output
        assert zarr_output is not None
        delivery_url(_s3(zarr_output.path), "zarrOutput.path", placeholders=frozenset({"<requestId>"}))
        check_zarr(
            zarr_output.group,
            zarr_output.array_parameters,
            zarr_output.array_overrides,
            request.identifiers,
            "zarrOutput",
        )


def prepare_batch_v1_spec(
    value: BatchV1Spec | Mapping[str, Any], base_url: str | None = None
) -> tuple[BatchV1Spec, dict[str, Any]]:
    """Check a legacy batch request (model or dict) and return it with its JSON-ready wire form."""
    model, wire = prepare_spec(value, BatchV1Spec, base_url)
    assert isinstance(model, BatchV1Spec)
    validate_batch_v1_spec(model)
    return model, wire


def prepare_batch_v1_update(
    output: BatchV1Output | Mapping[str, Any] | None, description: str | None
) -> dict[str, Any]:
    """The body of a legacy update; at least one of ``output`` and ``description``."""
    if output is None and description is None:
        raise ValidationError("update", "give output and/or description")
    if description is not None and not isinstance(description, str):
        raise ValidationError("description", f"expected a string, got {type(description).__name__}")
    body: dict[str, Any] = {}
    if output is not None:
        model, wire = prepare_spec({"output": to_wire(output)}, BatchV1Update, None)
        assert isinstance(model, BatchV1Update) and model.output is not None
        path = model.output.default_tile_path
        if path is not None:
            delivery_url(
                _s3(path),
                "output.defaultTilePath",
                placeholders=TILE_PATH_PLACEHOLDERS,
                require_one_of=_TILE_NAMES,
            )
        check_cog(model.output, [], "output")
        body["output"] = wire["output"]
    if description is not None:
        body["description"] = description
    return body

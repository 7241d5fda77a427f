"""Models and client-side checks of the Batch Process API v2 (``/api/v2/batch/process``).

A batch request has three parts (OpenAPI ``BatchV2ProcessRequest``):

* ``processRequest`` (:class:`BatchProcessRequest`): a Process API request
  without an output size: ``input`` (bounds and data, the same models as the
  Process API), ``output.responses`` (TIFF, JSON or ``zarr/array``) and the
  ``evalscript``;
* ``input`` (:class:`BatchInput`): how the area is split, a tiling grid
  (``tiling-grid`` with grid ``id`` and ``resolution``) or the features of a
  GeoPackage on object storage (``geopackage``);
* ``output`` (:class:`BatchOutput`): where results go, GeoTIFF tiles
  (``raster``) or one Zarr (``zarr``), delivered to S3 (or GCS).

:class:`BatchSpec` is the whole request the client sends; :class:`BatchRequest`
is what the service keeps and answers (``BatchV2ProcessTask``: id, status,
completion percentage...). A dict pasted from the documentation works wherever
a model does; keys the models do not know are sent unchanged.

Example::

    spec = BatchSpec(
        process_request=BatchProcessRequest(
            input=ProcessInput(bounds=Bounds.from_bbox([8.44, 41.31, 9.66, 43.1]),
                               data=[InputData.of(DataCollection.SENTINEL2_L2A,
                                                  time_range=("2019-04-01", "2019-06-30"))]),
            output=BatchProcessOutput.of("default", "image/tiff"),
            evalscript=EVALSCRIPT,
        ),
        input=BatchInput.tiling_grid(0, 60.0),
        output=BatchOutput.raster("s3://my-bucket/results", iam_role_arn=ROLE),
        description="Max NDVI over Corsica",
    )
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import msgspec

from eoclient._models import Model
from eoclient.errors import ValidationError
from eoclient.sentinelhub.data_collections import check_deployment, normalize_data_types
from eoclient.sentinelhub.process_models import (
    Bounds,
    OutputFormat,
    OutputResponse,
    ProcessInput,
    check_evalscript,
    check_input,
    fix_field,
    to_request,
)
from eoclient.sentinelhub.storage import GSStorage, ObjectStorage, S3Storage, check_storage

__all__ = [
    "BATCH_FORMATS",
    "STATUSES",
    "BatchInput",
    "BatchOutput",
    "BatchProcessOutput",
    "BatchProcessRequest",
    "BatchRequest",
    "BatchSpec",
    "CogParameters",
    "GSStorage",
    "GeoPackageDefaults",
    "ObjectStorage",
    "S3Storage",
    "ZarrArrayParameters",
    "ZarrGroup",
    "check_batch_process_request",
    "check_cog",
    "check_grid",
    "check_outputs_named",
    "check_zarr",
    "prepare_batch_spec",
    "prepare_spec",
]

BATCH_FORMATS: Final = frozenset({"image/tiff", "application/json", "zarr/array"})
"""``processRequest.output.responses[].format.type`` values of batch requests."""

STATUSES: Final = (
    "CREATED",
    "ANALYSING",
    "ANALYSIS_DONE",
    "PROCESSING",
    "DONE",
    "FAILED",
    "STOPPED",
)
"""Every status of a v2 batch request (OpenAPI ``BatchV2ProcessTask.status``)."""

INPUT_TYPES: Final = ("tiling-grid", "geopackage")
OUTPUT_TYPES: Final = ("raster", "zarr")
ZARR_FORMAT: Final = 2  # the only Zarr version the service writes
MAX_BUFFER: Final = 32767  # bufferX/bufferY are int16
MAX_GPKG_SIZE: Final = 3500  # GeoPackage feature defaults width/height
RESAMPLING: Final = frozenset(
    {"nearest", "average", "gauss", "cubic", "cubicspline", "lanczos", "average_magphase", "mode"}
)
RASTER_PLACEHOLDERS: Final = frozenset({"<requestId>", "<tileName>", "<outputId>", "<format>"})
"""Placeholders of a v2 raster ``output.delivery`` URL template."""
TILE_PLACEHOLDERS: Final = frozenset({"<tileName>"})
"""A tile path template must hold one of these, so that each tile gets its own files."""


def _location(url: str | ObjectStorage, iam_role_arn: str | None) -> ObjectStorage:
    if isinstance(url, ObjectStorage):
        return url
    return ObjectStorage.from_s3(url, iam_role_arn=iam_role_arn)


# -- the processRequest part ---------------------------------------------------------------


class BatchProcessOutput(Model):
    """``processRequest.output``: only ``responses`` (the tile size comes from the grid)."""

    responses: list[OutputResponse] | None = None

    @classmethod
    def of(cls, *pairs: str) -> BatchProcessOutput:
        """From identifier/format pairs: ``BatchProcessOutput.of("default", "image/tiff")``."""
        if not pairs or len(pairs) % 2:
            raise ValidationError("responses", "give identifier, format pairs")
        it = iter(pairs)
        return cls(
            responses=[
                OutputResponse(identifier=i, format=OutputFormat(type=f)) for i, f in zip(it, it, strict=True)
            ]
        )


class BatchProcessRequest(Model):
    """``processRequest``: what each tile runs (``input``, ``output.responses``, ``evalscript``)."""

    input: ProcessInput | None = None
    output: BatchProcessOutput | None = None
    evalscript: str | None = None

    @property
    def identifiers(self) -> list[str]:
        """Response identifiers in request order (``["default"]`` when none are given)."""
        responses = self.output.responses if self.output is not None else None
        return [r.identifier or "default" for r in responses] if responses else ["default"]

    @property
    def formats(self) -> list[str]:
        """The format type of each response (``image/tiff`` where a response gives none)."""
        responses = self.output.responses if self.output is not None else None
        if not responses:
            return ["image/tiff"]
        return [r.format.type if r.format is not None else "image/tiff" for r in responses]


# -- input: tiling grid or GeoPackage ----------------------------------------------------


class GeoPackageDefaults(Model):
    """Defaults for GeoPackage features that lack them: ``width``/``height`` *or* ``resolution``."""

    width: int | None = None
    height: int | None = None
    resolution: float | None = None


class BatchInput(Model):
    """The batch ``input``: a tiling grid or GeoPackage features. Build one with :meth:`tiling_grid`
    or :meth:`geopackage`.

    One struct holds the fields of both kinds (OpenAPI ``BatchV2TilingGridInput``
    and ``BatchV2GeoPackageInput``); ``type`` says which apply.
    """

    type: str
    id: int | None = None
    resolution: float | None = None
    buffer_x: int | None = None
    buffer_y: int | None = None
    features: ObjectStorage | None = None
    defaults: GeoPackageDefaults | None = None

    @classmethod
    def tiling_grid(
        cls, grid_id: int, resolution: float, *, buffer_x: int | None = None, buffer_y: int | None = None
    ) -> BatchInput:
        """Split the bounds by grid ``grid_id`` (``sh.tiling_grids``) at ``resolution`` (grid units)."""
        return cls(
            type="tiling-grid", id=grid_id, resolution=resolution, buffer_x=buffer_x, buffer_y=buffer_y
        )

    @classmethod
    def geopackage(
        cls,
        url: str | ObjectStorage,
        *,
        iam_role_arn: str | None = None,
        defaults: GeoPackageDefaults | Mapping[str, Any] | None = None,
    ) -> BatchInput:
        """Process the features of the GeoPackage at ``url`` (``s3://bucket/features.gpkg``)."""
        dflt = (
            msgspec.convert(dict(defaults), GeoPackageDefaults) if isinstance(defaults, Mapping) else defaults
        )
        return cls(type="geopackage", features=_location(url, iam_role_arn), defaults=dflt)


# -- output: raster tiles or Zarr ----------------------------------------------------------


class CogParameters(Model):
    """COG creation parameters (``gdaladdo`` levels/minsize/resampling, GTiff block size, predictor)."""

    overview_levels: list[int] | None = None
    overview_min_size: int | None = None
    resampling_algorithm: str | None = None
    blockxsize: int | None = None
    blockysize: int | None = None
    use_predictor: bool | None = None


class ZarrGroup(Model):
    """Zarr group parameters: ``zarr_format`` (2), ``coordinates.origin``, ``customAttributes``."""

    zarr_format: int | None = msgspec.field(default=None, name="zarr_format")
    coordinates: dict[str, Any] | None = None
    custom_attributes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.zarr_format is None:  # set, not defaulted: a default would be left out of the JSON
            self.zarr_format = ZARR_FORMAT


class ZarrArrayParameters(Model):
    """Zarr array parameters (``dtype``, ``order``, ``chunks``, ``fill_value``, ``compressor``).

    Used for ``arrayParameters`` (all four of dtype, order, chunks, fill_value
    are needed there) and for each entry of ``arrayOverrides`` (any subset,
    plus ``customAttributes``). ``fill_value`` may be ``"NaN"`` for floats.
    """

    dtype: str | None = None
    order: str | None = None
    chunks: list[int] | None = None
    fill_value: float | str | None = msgspec.field(default=None, name="fill_value")
    compressor: dict[str, Any] | None = None
    custom_attributes: dict[str, Any] | None = None


class BatchOutput(Model):
    """The batch ``output``: GeoTIFF tiles (:meth:`raster`) or one Zarr (:meth:`zarr`).

    One struct holds the fields of both kinds (OpenAPI ``BatchV2RasterOutput``
    and ``BatchV2ZarrOutput``); ``type`` says which apply.
    """

    type: str
    delivery: ObjectStorage | None = None
    # raster
    overwrite: bool | None = None
    skip_existing: bool | None = None
    cog_output: bool | None = None
    cog_parameters: CogParameters | None = None
    create_collection: bool | None = None
    collection_id: str | None = None
    # zarr
    group: ZarrGroup | None = None
    array_parameters: ZarrArrayParameters | None = None
    array_overrides: dict[str, ZarrArrayParameters] | None = None

    @classmethod
    def raster(
        cls,
        url: str | ObjectStorage,
        *,
        iam_role_arn: str | None = None,
        overwrite: bool | None = None,
        skip_existing: bool | None = None,
        cog_output: bool | None = None,
        cog_parameters: CogParameters | None = None,
        create_collection: bool | None = None,
        collection_id: str | None = None,
    ) -> BatchOutput:
        """Tiles written under ``url`` (``s3://bucket/folder`` or a template with ``<tileName>``...)."""
        return cls(
            type="raster",
            delivery=_location(url, iam_role_arn),
            overwrite=overwrite,
            skip_existing=skip_existing,
            cog_output=cog_output,
            cog_parameters=cog_parameters,
            create_collection=create_collection,
            collection_id=collection_id,
        )

    @classmethod
    def zarr(
        cls,
        url: str | ObjectStorage,
        *,
        array_parameters: ZarrArrayParameters | None = None,
        iam_role_arn: str | None = None,
        group: ZarrGroup | None = None,
        array_overrides: Mapping[str, ZarrArrayParameters] | None = None,
    ) -> BatchOutput:
        """One Zarr at ``url``; every ``processRequest`` response must be ``zarr/array``."""
        return cls(
            type="zarr",
            delivery=_location(url, iam_role_arn),
            group=group if group is not None else ZarrGroup(),
            array_parameters=array_parameters,
            array_overrides=dict(array_overrides) if array_overrides is not None else None,
        )


# -- the whole request, and the service's record of it -----------------------------------


class BatchSpec(Model):
    """A batch request as sent to ``POST /api/v2/batch/process`` (OpenAPI ``BatchV2ProcessRequest``)."""

    process_request: BatchProcessRequest | None = None
    input: BatchInput | None = None
    output: BatchOutput | None = None
    description: str | None = None


class BatchRequest(Model):
    """A batch request as the service keeps it (OpenAPI ``BatchV2ProcessTask``).

    ``status`` is one of :data:`STATUSES`; ``completion_percentage`` runs 0..100
    while PROCESSING; ``cost_pu`` is in processing units; ``error`` is the
    service's text for a FAILED request; ``stopped_status_reason`` says why a
    STOPPED one stopped (``USER_ACTION``, ``OUT_OF_PU``, ``UNHEALTHY``).
    """

    id: str
    status: str
    request: BatchSpec | None = None
    error: str | None = None
    user_action: str | None = None
    user_action_updated: datetime | None = None
    created: datetime | None = None
    last_updated: datetime | None = None
    completion_percentage: float | None = None
    cost_pu: float | None = msgspec.field(default=None, name="costPU")
    stopped_status_reason: str | None = None
    project_id: str | None = None
    workspace_id: str | None = None
    domain_account_id: str | None = None

    @property
    def description(self) -> str | None:
        """The request's description."""
        return self.request.description if self.request is not None else None

    @property
    def progress(self) -> float | None:
        """Completion as 0..1 (``None`` when the service gives no percentage)."""
        return _progress(self.status, self.completion_percentage)

    @property
    def partial(self) -> bool:
        """Finished, but some tiles failed: a PARTIAL status, or DONE with the service's ``error`` text.

        The v2 API has no PARTIAL status (the legacy API has); a DONE request
        that still carries an ``error`` is how failed tiles are reported (the
        tile-by-tile status is in the SQLite report the service writes to the
        output bucket).
        """
        return self.status == "PARTIAL" or (self.status == "DONE" and bool(self.error))


def _progress(status: str, pct: float | None) -> float | None:
    if status == "DONE":
        return 1.0
    return None if pct is None else round(min(1.0, max(0.0, pct / 100.0)), 6)


class BatchRequestHead(Model, gc=False):
    """The part of a :class:`BatchRequest` a job's status is read from (a status poll decodes only it).

    The same names, types and required fields as :class:`BatchRequest`, so an
    answer whose status fields the full record refuses is refused here too.
    """

    # gc=False: text and numbers only (never in a cycle); thousands of jobs decode one per poll.

    id: str
    status: str
    error: str | None = None
    user_action: str | None = None
    completion_percentage: float | None = None
    stopped_status_reason: str | None = None

    @property
    def progress(self) -> float | None:
        """Completion as 0..1, as :attr:`BatchRequest.progress`."""
        if self.status == "DONE":  # _progress(), inlined: read at every poll
            return 1.0
        pct = self.completion_percentage
        return None if pct is None else round(min(1.0, max(0.0, pct / 100.0)), 6)


# -- checks ----------------------------------------------------------------------------


def _positive(value: Any, field: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(field, f"must be a positive number, got {value!r}")
    return float(value)


def _int_in(value: Any, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer between {low} and {high}, got {value!r}")


def check_grid(grid_id: Any, resolution: Any, buffer_x: Any, buffer_y: Any, field: str) -> None:
    """A tiling grid id (integer >= 0), a positive resolution, and int16 buffers."""
    if grid_id is None:
        raise ValidationError(f"{field}.id", "is required (a tiling grid id, see sh.tiling_grids)")
    _int_in(grid_id, f"{field}.id", 0, 2**63 - 1)
    if resolution is None:
        raise ValidationError(f"{field}.resolution", "is required (in the units of the tiling grid)")
    _positive(resolution, f"{field}.resolution")
    for name, buffer in (("bufferX", buffer_x), ("bufferY", buffer_y)):
        if buffer is not None:
            _int_in(buffer, f"{field}.{name}", 0, MAX_BUFFER)


def delivery_url(
    storage: ObjectStorage | None,
    field: str,
    *,
    placeholders: frozenset[str] = frozenset(),
    require_one_of: frozenset[str] = frozenset(),
) -> tuple[str, str]:
    """Check a required location; returns its URL and the URL's field name."""
    if storage is None:
        raise ValidationError(
            field, "is required (e.g. {'s3': {'url': 's3://bucket/path', 'iamRoleARN': ...}})"
        )
    check_storage(storage, field, placeholders=placeholders, require_one_of=require_one_of)
    url = storage.url
    assert url is not None
    return url, f"{field}.{'s3' if storage.s3 is not None else 'gs'}.url"


def check_outputs_named(url: str, field: str, identifiers: list[str]) -> None:
    """A templated tile path needs ``<outputId>`` when the request has several outputs."""
    if "<" in url and len(identifiers) > 1 and "<outputId>" not in url:
        raise ValidationError(field, f"{len(identifiers)} outputs need <outputId> in the template")


def check_cog(output: BatchOutput | Any, formats: list[str], field: str) -> None:
    """COG and BYOC-collection options of a raster output: they need ``cogOutput`` and TIFF outputs."""
    cog, create, collection = output.cog_output, output.create_collection, output.collection_id
    if create and collection:
        raise ValidationError(
            f"{field}.collectionId", "give either createCollection or collectionId, not both"
        )
    if (create or collection) and not cog:
        raise ValidationError(f"{field}.cogOutput", "must be true to write results into a collection")
    if cog and any(f != "image/tiff" for f in formats):
        raise ValidationError(f"{field}.cogOutput", "COG output needs every response in image/tiff")
    params = output.cog_parameters
    algorithm = params.resampling_algorithm if params is not None else None
    if algorithm is not None and algorithm not in RESAMPLING:
        allowed = ", ".join(sorted(RESAMPLING))
        raise ValidationError(f"{field}.cogParameters.resamplingAlgorithm", f"must be one of {allowed}")


def _check_array(params: ZarrArrayParameters, field: str, *, complete: bool) -> None:
    if complete:
        for name, value in (
            ("dtype", params.dtype),
            ("order", params.order),
            ("chunks", params.chunks),
            ("fill_value", params.fill_value),
        ):
            if value is None:
                raise ValidationError(f"{field}.{name}", "is required")
    if params.order is not None and params.order != "C":
        raise ValidationError(f"{field}.order", "only 'C' (row-major) is supported")
    if params.chunks is not None:
        chunks = params.chunks
        if len(chunks) != 3 or any(c < 1 for c in chunks):
            raise ValidationError(
                f"{field}.chunks", f"must be three positive integers [1, y, x], got {chunks}"
            )
        if chunks[0] != 1:
            raise ValidationError(f"{field}.chunks", "the first (time) chunk size must be 1")


def check_zarr(
    group: ZarrGroup | None,
    array_parameters: ZarrArrayParameters | None,
    array_overrides: Mapping[str, ZarrArrayParameters] | None,
    identifiers: list[str],
    field: str,
) -> None:
    """Zarr group and array parameters against the request's response identifiers."""
    if group is None:
        raise ValidationError(f"{field}.group", "is required ({'zarr_format': 2})")
    if group.zarr_format != ZARR_FORMAT:
        raise ValidationError(f"{field}.group.zarr_format", f"only Zarr format {ZARR_FORMAT} is supported")
    overrides = dict(array_overrides or {})
    for name, override in overrides.items():
        if name not in identifiers:
            raise ValidationError(
                f"{field}.arrayOverrides.{name}", f"is not a response identifier ({', '.join(identifiers)})"
            )
        _check_array(override, f"{field}.arrayOverrides.{name}", complete=False)
    if array_parameters is not None:
        _check_array(array_parameters, f"{field}.arrayParameters", complete=False)
    for ident in identifiers:
        merged = msgspec.structs.replace(
            array_parameters or ZarrArrayParameters(),
            **{
                k: v
                for k, v in msgspec.structs.asdict(overrides.get(ident, ZarrArrayParameters())).items()
                if v is not None
            },
        )
        try:
            _check_array(merged, "", complete=True)
        except ValidationError as exc:
            missing = exc.field.lstrip(".")
            raise ValidationError(
                f"{field}.arrayParameters",
                f"{missing} is required (for array {ident!r}, here or in arrayOverrides)",
            ) from None


def check_batch_process_request(
    request: BatchProcessRequest | None, field: str = "processRequest", *, bounds_required: bool = True
) -> None:
    """The ``processRequest`` of a batch request: evalscript, input, and TIFF/JSON/Zarr responses."""
    if request is None:
        raise ValidationError(field, "is required (input, output and evalscript)")
    check_evalscript(request.evalscript, f"{field}.evalscript")
    inp = request.input
    if inp is not None and inp.bounds is None and not bounds_required:
        # GeoPackage features bring their own geometry: only the data is checked.
        check_input(msgspec.structs.replace(inp, bounds=Bounds(bbox=[0.0, 0.0, 1.0, 1.0])), f"{field}.input")
    else:
        check_input(inp, f"{field}.input")
    if request.output is None:
        raise ValidationError(f"{field}.output", "is required ({'responses': [...]})")
    responses = request.output.responses or []
    seen: set[str] = set()
    for i, response in enumerate(responses):
        where = f"{field}.output.responses[{i}]"
        identifier = "default" if response.identifier is None else response.identifier
        if not identifier.strip():
            raise ValidationError(f"{where}.identifier", "must not be empty")
        if identifier in seen:
            raise ValidationError(f"{where}.identifier", f"{identifier!r} is given twice")
        seen.add(identifier)
        if response.format is None:
            raise ValidationError(
                f"{where}.format", "is required (image/tiff, application/json or zarr/array)"
            )
        if response.format.type not in BATCH_FORMATS:
            allowed = ", ".join(sorted(BATCH_FORMATS))
            raise ValidationError(
                f"{where}.format.type", f"batch writes {allowed}, not {response.format.type!r}"
            )


def _check_formats(formats: list[str], *, zarr: bool, field: str) -> None:
    """Zarr output takes only ``zarr/array`` responses; raster output takes none."""
    for i, fmt in enumerate(formats):
        if zarr and fmt != "zarr/array":
            raise ValidationError(
                f"{field}[{i}].format.type", "Zarr output needs every response in zarr/array"
            )
        if not zarr and fmt == "zarr/array":
            raise ValidationError(
                f"{field}[{i}].format.type", "zarr/array needs Zarr output (output.type 'zarr')"
            )


def _check_input(inp: BatchInput | None) -> None:
    if inp is None:
        raise ValidationError(
            "input", "is required (BatchInput.tiling_grid(...) or BatchInput.geopackage(...))"
        )
    if inp.type == "tiling-grid":
        check_grid(inp.id, inp.resolution, inp.buffer_x, inp.buffer_y, "input")
    elif inp.type == "geopackage":
        delivery_url(inp.features, "input.features")
        dflt = inp.defaults
        if dflt is not None:
            for name, size in (("width", dflt.width), ("height", dflt.height)):
                if size is not None:
                    _int_in(size, f"input.defaults.{name}", 1, MAX_GPKG_SIZE)
            if dflt.resolution is not None:
                _positive(dflt.resolution, "input.defaults.resolution")
                if dflt.width is not None or dflt.height is not None:
                    raise ValidationError("input.defaults", "set either width/height or resolution, not both")
    else:
        raise ValidationError("input.type", f"must be one of {', '.join(INPUT_TYPES)}, got {inp.type!r}")


def _check_output(out: BatchOutput | None, request: BatchProcessRequest) -> None:
    if out is None:
        raise ValidationError("output", "is required (BatchOutput.raster(...) or BatchOutput.zarr(...))")
    if out.type not in OUTPUT_TYPES:
        raise ValidationError("output.type", f"must be one of {', '.join(OUTPUT_TYPES)}, got {out.type!r}")
    formats = request.formats
    _check_formats(formats, zarr=out.type == "zarr", field="processRequest.output.responses")
    identifiers = request.identifiers
    if out.type == "raster":
        url, where = delivery_url(
            out.delivery,
            "output.delivery",
            placeholders=RASTER_PLACEHOLDERS,
            require_one_of=TILE_PLACEHOLDERS,
        )
        check_outputs_named(url, where, identifiers)
        check_cog(out, formats, "output")
    else:
        delivery_url(out.delivery, "output.delivery", placeholders=frozenset({"<requestId>"}))
        check_zarr(out.group, out.array_parameters, out.array_overrides, identifiers, "output")


def validate_batch_spec(spec: BatchSpec) -> None:
    """Every client-side check of a v2 batch request; raises :class:`ValidationError` naming the field."""
    _check_input(spec.input)
    assert spec.input is not None
    check_batch_process_request(spec.process_request, bounds_required=spec.input.type != "geopackage")
    assert spec.process_request is not None
    _check_output(spec.output, spec.process_request)


def prepare_spec(value: Any, type_: type[Any], base_url: str | None) -> tuple[Any, dict[str, Any]]:
    """``(model, wire dict)`` of a batch request (model or docs-style dict), before its checks.

    DataCollection objects in ``processRequest.input.data[].type`` become type
    strings; with ``base_url``, collections served by another deployment are refused.
    """
    if not isinstance(value, Mapping | type_):
        raise ValidationError("request", f"expected a {type_.__name__} or a dict, got {type(value).__name__}")
    if base_url is not None:
        inner = value.get("processRequest") if isinstance(value, Mapping) else value.process_request
        try:
            check_deployment(inner, base_url)
        except ValidationError as exc:
            raise ValidationError(f"processRequest.{exc.field}", exc.message.split(": ", 1)[-1]) from None
    if isinstance(value, Mapping) and isinstance(value.get("processRequest"), Mapping):
        value = {**value, "processRequest": normalize_data_types(value["processRequest"])}
    try:
        return to_request(value, type_)
    except ValidationError as exc:
        raise fix_field(exc) from None


def prepare_batch_spec(
    value: BatchSpec | Mapping[str, Any], base_url: str | None = None
) -> tuple[BatchSpec, dict[str, Any]]:
    """Check a v2 batch request (model or dict) and return it with its JSON-ready wire form."""
    model, wire = prepare_spec(value, BatchSpec, base_url)
    assert isinstance(model, BatchSpec)
    validate_batch_spec(model)
    return model, wire

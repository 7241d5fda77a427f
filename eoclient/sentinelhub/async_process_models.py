"""Request and result models of the Async Process API (``POST /api/v1/async/process``), and their checks.

An Async Process request is a Process API request
(:class:`~eoclient.sentinelhub.process_models.ProcessRequest`) whose output is
delivered to object storage (``output.delivery``) instead of being returned,
and whose images may be up to 10000 pixels a side. The evalscript may be sent
inline or read from a bucket (``evalscriptReference``). Requests are checked
with the Process API's own checks (input, evalscript, responses) plus the
delivery's, before anything is sent.

Example::

    request = {
        "input": {"bounds": {"bbox": [13.8, 45.8, 14.5, 46.2]}, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {"width": 5000, "height": 5000,
                   "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
        "evalscript": EVALSCRIPT,
    }
    job = await sh.async_process.create(request, delivery=ObjectStorage.from_s3(
        "s3://my-bucket/async", access_key=KEY, secret_access_key=SECRET))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from eoclient._models import Model
from eoclient.errors import ValidationError
from eoclient.sentinelhub.process_models import (
    ProcessInput,
    ProcessOutput,
    check_evalscript,
    check_input,
    check_output,
    fix_field,
    to_request,
)
from eoclient.sentinelhub.storage import ObjectStorage, check_storage, prepare_storage, url_placeholders
from eoclient.storage.outputs import Output

__all__ = [
    "ASYNC_MAX_SIZE",
    "DELIVERY_PLACEHOLDERS",
    "AsyncProcessDelivery",
    "AsyncProcessOutput",
    "AsyncProcessRequest",
    "output_locations",
    "prepare_async_request",
]

ASYNC_MAX_SIZE: Final = 10_000
"""Largest width or height of an Async Process output, in pixels."""

DELIVERY_PLACEHOLDERS: Final = frozenset({"<REQUEST_ID>", "<OUTPUT>"})
"""Placeholders a templated delivery URL may hold."""

_EXTENSIONS: Final = {
    "image/tiff": "tif",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/json": "json",
}


class AsyncProcessOutput(ProcessOutput):
    """``output`` of an Async Process request: the Process API's, plus ``delivery`` (required)."""

    delivery: ObjectStorage | None = None


class AsyncProcessRequest(Model):
    """A whole Async Process request; ``evalscript`` or ``evalscript_reference`` (a bucket object)."""

    input: ProcessInput | None = None
    evalscript: str | None = None
    evalscript_reference: ObjectStorage | None = None
    output: AsyncProcessOutput | None = None

    @property
    def responses(self) -> list[tuple[str, str]]:
        """``(identifier, format type)`` of each output in request order (default: one PNG)."""
        responses = self.output.responses if self.output is not None else None
        if not responses:
            return [("default", "image/png")]
        return [
            (r.identifier or "default", r.format.type if r.format is not None else "image/png")
            for r in responses
        ]


@dataclass(frozen=True, slots=True)
class AsyncProcessDelivery:
    """What a finished Async Process request delivered, and where.

    The API says no more than that a request has finished (its status
    endpoint answers 404 from then on, for success and failure alike), so the
    client reads the store: ``objects`` are the outputs found there, one
    :class:`~eoclient.storage.outputs.Output` per response (identifier in
    ``output``, size, ETag/MD5), in request order, and ``verified`` is
    ``True``. ``outputs`` maps each response identifier to its object URL by
    the service's documented templating (``<identifier>.<extension>`` under
    ``<REQUEST_ID>/`` unless the URL is templated), found or not.

    A job that does not read the store (``read=False``, or re-attached by id
    without its delivery URL) has no ``objects`` and ``verified`` is
    ``False``: nobody looked. With a ``verify`` hook, ``verified`` is what
    the hook said. ``url`` (and so ``outputs``) is unknown (``None``, empty)
    for a job re-attached by id without its delivery URL.
    """

    request_id: str
    url: str | None
    outputs: Mapping[str, str]
    verified: bool = False
    objects: tuple[Output, ...] = ()


def output_locations(
    request_id: str, url: str | None, responses: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """The object URL of each response identifier for a delivery ``url`` (template).

    ``s3://bucket/folder`` is ``s3://bucket/folder/<REQUEST_ID>/<OUTPUT>``;
    ``<OUTPUT>`` is the identifier with its format's extension (``default.tif``).
    """
    if url is None:
        return {}
    template = url if url_placeholders(url) else url.rstrip("/") + "/<REQUEST_ID>/<OUTPUT>"
    out: dict[str, str] = {}
    for identifier, media in responses:
        name = f"{identifier}.{_EXTENSIONS.get(media, 'bin')}"
        out[identifier] = template.replace("<REQUEST_ID>", request_id).replace("<OUTPUT>", name)
    return out


def _check_async_size(output: AsyncProcessOutput, extent: tuple[float, float, float, float] | None) -> None:
    """width/height *or* resx/resy, up to :data:`ASYNC_MAX_SIZE` pixels a side."""
    for name, size in (("width", output.width), ("height", output.height)):
        if size is not None and not 1 <= size <= ASYNC_MAX_SIZE:
            raise ValidationError(f"output.{name}", f"must be between 1 and {ASYNC_MAX_SIZE}, got {size}")
    has_size = output.width is not None or output.height is not None
    has_res = output.resx is not None or output.resy is not None
    if has_size and has_res:
        raise ValidationError("output", "set either width/height or resx/resy, not both")
    if not has_res:
        return
    if output.resx is None or output.resy is None:
        raise ValidationError(
            f"output.{'resy' if output.resy is None else 'resx'}", "resx and resy go together"
        )
    for name, res in (("resx", output.resx), ("resy", output.resy)):
        if not math.isfinite(res) or res <= 0:
            raise ValidationError(f"output.{name}", f"must be a positive number, got {res}")
    if extent is not None:
        for name, span, res in (
            ("resx", extent[2] - extent[0], output.resx),
            ("resy", extent[3] - extent[1], output.resy),
        ):
            pixels = math.ceil(span / res)
            if pixels > ASYNC_MAX_SIZE:
                raise ValidationError(
                    f"output.{name}",
                    f"gives an image of {pixels} pixels along this axis; the maximum is {ASYNC_MAX_SIZE}",
                )


def validate_async_request(request: AsyncProcessRequest) -> None:
    """Every client-side check of an Async Process request; raises :class:`ValidationError`."""
    if request.evalscript is not None and request.evalscript_reference is not None:
        raise ValidationError("evalscript", "give evalscript or evalscriptReference, not both")
    if request.evalscript_reference is not None:
        check_storage(request.evalscript_reference, "evalscriptReference")
    else:
        check_evalscript(request.evalscript, "evalscript")
    extent = check_input(request.input, "input")
    output = request.output
    if output is None or output.delivery is None:
        raise ValidationError("output.delivery", "is required: where the service delivers the outputs")
    _check_async_size(output, extent)
    # The Process API's checks of the responses (identifiers, formats); the size was checked above
    # against the Async limit, which is larger than the Process API's.
    check_output(msgspec.structs.replace(output, width=None, height=None, resx=None, resy=None), extent)
    check_storage(
        output.delivery,
        "output.delivery",
        placeholders=DELIVERY_PLACEHOLDERS,
        require_one_of=frozenset({"<OUTPUT>"}),
    )


def prepare_async_request(
    value: AsyncProcessRequest | Mapping[str, Any], delivery: Any = None
) -> tuple[AsyncProcessRequest, dict[str, Any]]:
    """Check a request (model or docs-style dict) and return it with its JSON-ready wire form.

    ``delivery`` (a :class:`~eoclient.sentinelhub.storage.ObjectStorage`, its
    dict, or an ``s3://`` URL) sets or replaces ``output.delivery``.
    """
    if isinstance(value, msgspec.Struct) and not isinstance(value, AsyncProcessRequest):
        # A ProcessRequest (or other model) is taken as its dict: the Async request is a superset.
        value = msgspec.to_builtins(value)
    try:
        model, wire = to_request(value, AsyncProcessRequest)
    except ValidationError as exc:
        raise fix_field(exc) from None
    if delivery is not None:
        storage, storage_wire = prepare_storage(
            delivery,
            "delivery",
            placeholders=DELIVERY_PLACEHOLDERS,
            require_one_of=frozenset({"<OUTPUT>"}),
        )
        output = model.output if model.output is not None else AsyncProcessOutput()
        model = msgspec.structs.replace(model, output=msgspec.structs.replace(output, delivery=storage))
        wire["output"] = {**(wire.get("output") or {}), "delivery": storage_wire}
    validate_async_request(model)
    return model, wire

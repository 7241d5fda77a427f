"""A Process or Statistical request prepared once: checked, normalized, encoded, its cost kept.

:func:`prepare_process` and :func:`prepare_statistics` turn what the user gave
(a model or a docs-style dict) into one frozen object that every later step
reads and none redoes: the transport sends :attr:`PreparedProcess.body` as it
is, the cache keys on the same bytes, the answer is checked against
:attr:`~PreparedProcess.expect` and :attr:`~PreparedProcess.parts`, and a
budget asks :attr:`~PreparedProcess.cost` for an estimate only when there is a
budget (:func:`~eoclient.sentinelhub.budget.charged`): the size it needs was
kept when the bounds were checked, so they are not looked at again.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import msgspec

from eoclient._http import media
from eoclient._http.media import media_type
from eoclient._models import from_user
from eoclient.arrays import GeoRef
from eoclient.sentinelhub.budget import CostBasis
from eoclient.sentinelhub.cache import canonical_json
from eoclient.sentinelhub.multipart import TAR_TYPES
from eoclient.sentinelhub.process_body import FastBody, fast_process_body
from eoclient.sentinelhub.process_models import (
    ProcessRequest,
    accept_header,
    positional_maker,
    request_georef,
    request_time,
    resolve_accept,
    to_checked_request,
    validate_process_request,
)
from eoclient.sentinelhub.statistics_models import (
    Interval,
    StatisticsRequest,
    validate_statistics_request,
)
from eoclient.timeutils import serialize_time

__all__ = [
    "PreparedProcess",
    "PreparedRequest",
    "PreparedStatistics",
    "answer_types",
    "prepare_process",
    "prepare_statistics",
]

_JSON: Final = "application/json"
_JSON_HEADERS: Final[Mapping[str, str]] = MappingProxyType({"Accept": _JSON, "Content-Type": _JSON})


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """What every prepared request holds: its body, encoded once (and ``wire``, the body as builtins)."""

    body: bytes
    """``wire`` encoded once, keys sorted: the bytes sent and the bytes the cache keys on."""


@dataclass(frozen=True, slots=True)
class PreparedProcess(PreparedRequest):
    """A checked Process request and everything decided about it (see the module docstring)."""

    accept: str
    """The ``Accept`` header (see :func:`~eoclient.sentinelhub.process_models.resolve_accept`)."""
    parts: tuple[tuple[str, str | None], ...]
    """``(identifier, media type asked for)`` of each requested response, in order."""
    georef: GeoRef | None
    """Where the image lies (from the bounds, their CRS and the output size), for every answer."""
    time: datetime | None
    """The start of ``input.data[0]``'s time range, for every answer."""
    # The cost basis, or what the one pass found, from which it is made when a budget first asks.
    _basis: CostBasis | FastBody = field(repr=False, compare=False)
    _model: ProcessRequest | None = field(default=None, repr=False, compare=False)
    _wire: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def wire(self) -> dict[str, Any]:
        """The JSON body as builtins, with the keys of the user's dict the models do not know.

        A dict checked by msgspec in one pass is encoded without one: it is then
        decoded from :attr:`body` (the same values; its keys sorted).
        """
        wire = self._wire
        if wire is None:
            wire = msgspec.json.decode(self.body)
            object.__setattr__(self, "_wire", wire)  # frozen: filled once, on first use
        return wire

    @property
    def cost(self) -> CostBasis:
        """What the PU estimate is computed from (only when a budget asks)."""
        basis = self._basis
        if isinstance(basis, CostBasis):
            return basis
        cost = CostBasis(
            basis.width,
            basis.height,
            basis.evalscript,
            collections=basis.collections,
            tiff=any(kind == "image/tiff" for _, kind in basis.parts),
        )
        object.__setattr__(self, "_basis", cost)  # frozen: filled once, on first use
        return cost

    @property
    def model(self) -> ProcessRequest:
        """The checked request as a model, normalized (CRS URLs, UTC times, collection ids).

        A dict checked in one pass (:mod:`~eoclient.sentinelhub.process_body`)
        has no model until one is asked for: it is then read from :attr:`wire`.
        """
        model = self._model
        if model is None:
            model = from_user(self.wire, ProcessRequest, field="request")
            object.__setattr__(self, "_model", model)  # frozen: filled once, on first use
        return model

    @property
    def expect(self) -> frozenset[str]:
        """The media types the answer may have (decided by :attr:`accept`)."""
        return answer_types(self.accept)

    @property
    def headers(self) -> Mapping[str, str]:
        """``Accept`` and ``Content-Type``: the request headers (one read-only mapping per ``Accept``)."""
        return _headers(self.accept)

    @property
    def identifiers(self) -> list[str]:
        """The response identifiers in request order."""
        return [identifier for identifier, _ in self.parts]


def prepare_process(
    request: ProcessRequest | Mapping[str, Any], *, accept: str | None = None
) -> PreparedProcess:
    """Check, normalize and encode a Process request (a model or a docs-style dict), once.

    A mistake raises :class:`~eoclient.errors.ValidationError` naming the
    field (``output.width``, ``accept``) before anything is sent. A plain dict
    of the usual shape is checked and encoded in one pass
    (:func:`~eoclient.sentinelhub.process_body.fast_process_body`); a model,
    anything unusual, and every mistake take the general path through the
    models, which names the field.
    """
    fast = fast_process_body(request)
    if fast is None:
        return prepare_general(request, accept=accept)
    parts = fast.parts
    asked = parts[0][1] if len(parts) == 1 else None
    if accept is None and asked is not None:  # the usual case: the one response's format
        accept_value = asked
    else:
        accept_value = accept_header([identifier for identifier, _ in parts], asked, accept)
    # Positional: the fields' order (PreparedRequest's, then PreparedProcess's). The cost basis is
    # made from `fast` only if a budget asks.
    return _new_prepared(fast.body, accept_value, parts, fast.georef, fast.time, fast, None, fast.wire)


_new_prepared = positional_maker(PreparedProcess)  # every request's: each field set through its slot


def prepare_general(
    request: ProcessRequest | Mapping[str, Any], *, accept: str | None = None
) -> PreparedProcess:
    """:func:`prepare_process` through the models, for any request (and every mistake)."""
    model, wire = to_checked_request(request, ProcessRequest)
    width, height = validate_process_request(model)
    accept_value = resolve_accept(model, accept)
    parts = requested_parts(model)
    assert model.input is not None  # checked: bounds and at least one collection
    cost = CostBasis(
        width,
        height,
        model.evalscript or "",
        collections=len(model.input.data or ()),
        tiff=any(asked == "image/tiff" for _, asked in parts),
    )
    return PreparedProcess(
        body=canonical_json(wire),
        accept=accept_value,
        parts=parts,
        georef=request_georef(model, width, height),
        time=request_time(model),
        _basis=cost,
        _model=model,
        _wire=wire,
    )


@functools.lru_cache(maxsize=64)  # one per Accept value: the same read-only mapping every request
def _headers(accept: str) -> Mapping[str, str]:
    return MappingProxyType({"Accept": accept, "Content-Type": _JSON})


@functools.lru_cache(maxsize=64)  # one per Accept value, asked for every request
def answer_types(accept: str) -> frozenset[str]:
    """The media types a Process answer may have for this ``Accept`` (tar under either name)."""
    wanted = media_type(accept)
    return frozenset({wanted, *TAR_TYPES}) if wanted in TAR_TYPES else frozenset({wanted})


def requested_parts(model: ProcessRequest) -> tuple[tuple[str, str | None], ...]:
    """``(identifier, media type asked for)`` of each response of the request, in order."""
    responses = model.output.responses if model.output is not None else None
    if not responses:
        return (("default", None),)
    return tuple(
        (r.identifier or "default", r.format.type if r.format is not None else None) for r in responses
    )


@dataclass(frozen=True, slots=True)
class PreparedStatistics(PreparedRequest):
    """A checked Statistical request, encoded once, with its interval count and cost basis."""

    wire: dict[str, Any]
    """The JSON body as builtins, with the keys of the user's dict the models do not know."""

    model: StatisticsRequest
    """The checked request, normalized (CRS URLs, UTC times, collection ids)."""
    intervals: int
    """Time intervals the request asks for."""
    cost: CostBasis
    """What the PU estimate is computed from (only when a budget asks)."""

    @property
    def accept(self) -> str:
        """``application/json``: a Statistical answer is always JSON."""
        return _JSON

    @property
    def expect(self) -> frozenset[str]:
        """The media types the answer may have."""
        return media.JSON

    @property
    def headers(self) -> Mapping[str, str]:
        """``Accept`` and ``Content-Type``: the request headers."""
        return _JSON_HEADERS

    def for_interval(self, interval: Interval) -> PreparedStatistics:
        """The same request for one interval of its answer (to ask for a failed interval again).

        The user's unknown keys are kept as written; ``lastIntervalBehavior``
        becomes ``SHORTEN``, so a shortened last interval is not skipped.
        """
        aggregation = dict(self.wire["aggregation"])
        aggregation["timeRange"] = {"from": serialize_time(interval.from_), "to": serialize_time(interval.to)}
        aggregation["aggregationInterval"] = {
            **aggregation["aggregationInterval"],
            "lastIntervalBehavior": "SHORTEN",
        }
        wire = {**self.wire, "aggregation": aggregation}
        return PreparedStatistics(
            wire=wire,
            body=canonical_json(wire),
            model=self.model,
            intervals=1,
            cost=dataclasses.replace(self.cost, samples=1),
        )


def prepare_statistics(request: StatisticsRequest | Mapping[str, Any]) -> PreparedStatistics:
    """Check, normalize and encode a Statistical request (a model or a docs-style dict), once."""
    model, wire = to_checked_request(request, StatisticsRequest)
    intervals, (width, height) = validate_statistics_request(model)
    assert model.input is not None and model.aggregation is not None  # checked
    cost = CostBasis(
        width,
        height,
        model.aggregation.evalscript or "",
        collections=len(model.input.data or ()),
        samples=max(intervals, 1),
    )
    return PreparedStatistics(
        model=model, wire=wire, body=canonical_json(wire), intervals=intervals, cost=cost
    )

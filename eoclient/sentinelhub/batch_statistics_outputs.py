"""Where a Batch Statistical request writes its per-feature results, and how they are read back.

The request's ``output`` (read from its record, ``request.output.s3.url``)
is a folder — each feature's result is then
``<url>/<REQUEST_ID>/<ID>.json`` — or a template holding ``<REQUEST_ID>``,
``<ID>`` (the feature's ``id``) and/or ``<IDENTIFIER>`` (its
``identifier``), e.g. ``s3://bucket/stats/<IDENTIFIER>.json``. Each object
is the Statistical API's answer for that feature, decoded into the same
:class:`~eoclient.sentinelhub.statistics_models.StatisticsResponse` that
``sh.statistics`` returns.

The service does not say how many features a request has (nor which
failed, for a PARTIAL one), so the delivery is taken as complete at the
first listing after the end that finds nothing new (the quiet rule of
:func:`~eoclient.storage.outputs.follow`): an object that shows up later
than that is not waited for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eoclient._models import from_json, from_wire
from eoclient.sentinelhub.batch_statistics_models import BatchStatisticsTask, FeatureStatistics
from eoclient.sentinelhub.deliveries import readable
from eoclient.sentinelhub.statistics_models import StatisticsResponse
from eoclient.storage.outputs import Layout, Output, output_of
from eoclient.storage.store import ObjectStore, StoredObject

__all__ = ["DEFAULT_TAIL", "StatisticsPlan", "feature_statistics", "statistics_plan"]

DEFAULT_TAIL: Final = "/<REQUEST_ID>/<ID>.json"
"""What a plain (untemplated) output URL means."""
_OPERATION: Final = "batch_statistics.result"


@dataclass(frozen=True, slots=True)
class StatisticsPlan:
    """Where one request's per-feature results are: the key layout, read from its record."""

    request_id: str
    layout: Layout

    def describe(self, store: ObjectStore, obj: StoredObject, fields: Mapping[str, str], path: str) -> Output:
        """The :class:`Output` of a listed object; ``feature`` is its ``<ID>``, else its ``<IDENTIFIER>``."""
        feature = fields.get("ID") or fields.get("IDENTIFIER")
        return output_of(store, obj, fields, path, feature=feature)


def statistics_plan(task: BatchStatisticsTask) -> StatisticsPlan:
    """The plan of a request record; :class:`~eoclient.errors.UnsupportedOperationError` if unreadable."""
    what = f"Batch Statistical request {task.id}"
    output = task.request.output if task.request is not None else None
    where = output.s3 or output.gs if output is not None else None
    url = readable(where.url if where is not None else None, what)  # gs:// is refused, saying so
    template = url if "<" in url else url.rstrip("/") + DEFAULT_TAIL
    return StatisticsPlan(task.id, Layout(template, {"REQUEST_ID": task.id}))


async def feature_statistics(out: Output) -> FeatureStatistics:
    """One delivered result read and decoded; a malformed object is a ResponseDecodeError naming its key."""
    body = await out.read()
    data: Any = from_json(body, operation=_OPERATION, path=out.url, what=f"object {out.key}")
    statistics = from_wire(data, StatisticsResponse, operation=_OPERATION, path=out.url)
    return FeatureStatistics(
        feature_id=out.fields.get("ID"),
        identifier=out.fields.get("IDENTIFIER"),
        output=out,
        statistics=statistics,
    )

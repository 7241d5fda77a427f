"""The Statistical API: statistics and histograms of an evalscript's outputs over time intervals.

Reached through :meth:`eoclient.SentinelHub.statistics`; models are in
:mod:`eoclient.sentinelhub.statistics_models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import msgspec

from eoclient._http.transport import Transport
from eoclient._models import from_wire
from eoclient.sentinelhub.budget import ProcessingBudget, charged, estimate_statistics_units
from eoclient.sentinelhub.process import processing_units_spent
from eoclient.sentinelhub.statistics_models import (
    StatisticsRequest,
    StatisticsResponse,
    prepare_statistics_request,
)

__all__ = ["STATISTICS_PATH", "StatisticsAPI"]

STATISTICS_PATH: Final = "/api/v1/statistics"


class StatisticsAPI:
    """Statistical API calls of one client (use :meth:`eoclient.SentinelHub.statistics`)."""

    def __init__(self, transport: Transport, budget: ProcessingBudget | None = None) -> None:
        self._transport = transport
        self.budget = budget

    async def statistics(self, request: StatisticsRequest | Mapping[str, Any]) -> StatisticsResponse:
        """Compute the statistics of ``request``; failed intervals are in ``.errors``."""
        model, wire, intervals = prepare_statistics_request(request)
        async with charged(self.budget, estimate_statistics_units(model, intervals)) as charge:
            resp = await self._transport.request(
                "POST",
                STATISTICS_PATH,
                operation="statistics.request",
                json=wire,
                headers={"Accept": "application/json"},
                idempotent=True,  # computing statistics changes nothing on the server
            )
            charge.actual = processing_units_spent(resp.headers)
        # Decoded loosely: the service writes "NaN" (a string) for statistics without data.
        answer = from_wire(resp.json(), StatisticsResponse, operation="statistics.request", path=resp.path)
        return msgspec.structs.replace(answer, processing_units=charge.actual)

"""Pacing Process and Statistical requests under a processing-unit and a request budget.

Sentinel Hub limits an account by processing units (PU) and by requests, each
per minute. :class:`ProcessingBudget` keeps one
:class:`~eoclient._http.ratelimit.TokenBucket` for each: before a request the
client takes one request token and the *estimated* PU cost, sleeping until
both are there; when the answer arrives, the bucket is corrected by what the
service says it charged (``x-processingunits-spent``). A client paced this way
stays under the account's limits instead of running into 429s.

The estimate follows Sentinel Hub's documented PU formula:

* 1 PU is one 512 x 512 px output (any smaller area counts as at least 0.01 of it);
* times the number of input bands / 3 (``dataMask`` not counted; read from the
  evalscript's ``input``, 3 when it cannot be read);
* times 2 for 32-bit float TIFF output (``sampleType: "FLOAT32"``);
* times the number of collections in ``input.data`` (data fusion);
* times the number of time intervals for the Statistical API;
* at least 0.005 PU a request.

It cannot know the number of data samples of ``ORBIT``/``TILE`` mosaicking
(one per acquisition); the correction by the actual charge takes care of that.

Example::

    budget = ProcessingBudget(pu_per_minute=300, requests_per_minute=600)
    async with SentinelHub(..., budget=budget) as sh:
        ...  # thousands of concurrent sh.process(...) calls pace themselves
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from eoclient._http.ratelimit import Clock, Sleep, TokenBucket
from eoclient._log import log_event
from eoclient.errors import APIError, ValidationError

__all__ = [
    "Charge",
    "CostBasis",
    "ProcessingBudget",
    "charged",
    "count_input_bands",
    "processing_units",
    "uses_float32",
]

PU_PIXELS: Final = 512 * 512
MIN_AREA_FACTOR: Final = 0.01
MIN_REQUEST_PU: Final = 0.005
_DEFAULT_BANDS: Final = 3

_INPUT_RE: Final = re.compile(r"\binput\s*:\s*\[")
_BANDS_RE: Final = re.compile(r"\bbands\s*:\s*\[([^\]]*)\]")
_STRING_RE: Final = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_FLOAT32_RE: Final = re.compile(r"\bsampleType\s*:\s*(?:SampleType\s*\.\s*)?[\"']?FLOAT32\b")


def processing_units(
    width: int,
    height: int,
    *,
    input_bands: int = _DEFAULT_BANDS,
    float32: bool = False,
    collections: int = 1,
    samples: int = 1,
) -> float:
    """PU of one request by Sentinel Hub's formula (see the module docstring)."""
    area = max(width * height / PU_PIXELS, MIN_AREA_FACTOR)
    units = area * (max(input_bands, 1) / 3) * (2 if float32 else 1) * max(collections, 1) * max(samples, 1)
    return max(units, MIN_REQUEST_PU)


def _bracket_group(text: str, open_at: int) -> str:
    """The text between the ``[`` at ``open_at`` and its matching ``]`` (to the end if unbalanced)."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return text[open_at + 1 :]


def _strings(text: str) -> list[str]:
    return [a or b for a, b in _STRING_RE.findall(text)]


def count_input_bands(evalscript: str) -> int | None:
    """Input bands an evalscript's ``setup()`` asks for (``dataMask`` not counted), or ``None``."""
    match = _INPUT_RE.search(evalscript)
    if match is None:
        return None
    group = _bracket_group(evalscript, match.end() - 1)
    lists = _BANDS_RE.findall(group)
    names = [n for chunk in lists for n in _strings(chunk)] if lists else _strings(group)
    bands = [n for n in names if n and n != "dataMask"]
    return len(bands) if bands else None


def uses_float32(evalscript: str) -> bool:
    """Whether an output of the evalscript is ``FLOAT32``."""
    return _FLOAT32_RE.search(evalscript) is not None


@dataclass(frozen=True, slots=True)
class CostBasis:
    """What a request's PU estimate is computed from, kept when the request is prepared.

    The size comes from the checks that already ran (bounds and resolution are
    not looked at again); the evalscript is only read by :meth:`estimate`,
    which runs only when a budget asks (see :func:`charged`).
    """

    width: int
    height: int
    evalscript: str
    collections: int = 1
    tiff: bool = False
    """A TIFF output: a ``FLOAT32`` evalscript then counts double."""
    samples: int = 1
    """Time intervals of a Statistical request (1 for Process)."""

    def estimate(self) -> float:
        """Estimated PU of the request (see the module docstring)."""
        script = self.evalscript
        return processing_units(
            self.width,
            self.height,
            input_bands=count_input_bands(script) or _DEFAULT_BANDS,
            float32=self.tiff and uses_float32(script),
            collections=self.collections,
            samples=self.samples,
        )


@dataclass(slots=True)
class Charge:
    """One request's PU: the ``estimate`` taken up front, the ``actual`` once the service says."""

    estimate: float
    actual: float | None = None


class ProcessingBudget:
    """Paces requests under ``pu_per_minute`` processing units and ``requests_per_minute`` requests.

    Either limit may be ``None`` (not limited). Each bucket holds one minute's
    worth (like the service's own) unless ``pu_burst`` / ``request_burst`` say
    otherwise. ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        pu_per_minute: float | None = None,
        requests_per_minute: float | None = None,
        *,
        pu_burst: float | None = None,
        request_burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        for name, value in (
            ("pu_per_minute", pu_per_minute),
            ("requests_per_minute", requests_per_minute),
            ("pu_burst", pu_burst),
            ("request_burst", request_burst),
        ):
            if value is not None and not value > 0:
                raise ValidationError(f"ProcessingBudget.{name}", f"must be positive, got {value}")
        self.pu_per_minute = pu_per_minute
        self.requests_per_minute = requests_per_minute
        self.pu_bucket: TokenBucket | None = None
        self.request_bucket: TokenBucket | None = None
        if pu_per_minute is not None:
            self.pu_bucket = TokenBucket(
                pu_per_minute / 60.0, pu_burst or pu_per_minute, clock=clock, sleep=sleep
            )
        if requests_per_minute is not None:
            self.request_bucket = TokenBucket(
                requests_per_minute / 60.0, request_burst or requests_per_minute, clock=clock, sleep=sleep
            )
        self.spent = 0.0
        """Processing units charged so far (actual where the service said, else estimated)."""
        self.requests = 0
        """Requests paced so far."""
        self.waited = 0.0
        """Seconds spent waiting for the budget so far."""

    async def acquire(self, estimate: float) -> float:
        """Wait for one request token and ``estimate`` PU; returns the seconds waited.

        A cost above the bucket's capacity is allowed: it leaves the bucket in
        debt, which later requests wait out.
        """
        waited = 0.0
        if self.request_bucket is not None:
            waited += await self.request_bucket.acquire(1.0)
        if self.pu_bucket is not None:
            waited += await self.pu_bucket.acquire(estimate)
        self.requests += 1
        self.waited += waited
        if waited > 0:
            log_event(logging.DEBUG, "budget.wait", seconds=round(waited, 3), estimate=round(estimate, 4))
        return waited

    def settle(self, estimate: float, actual: float | None) -> None:
        """Correct the PU bucket by the difference between the actual charge and the estimate."""
        charged = estimate if actual is None else actual
        self.spent += charged
        if self.pu_bucket is not None and actual is not None and actual != estimate:
            self.pu_bucket.debit(actual - estimate)

    def refund(self, estimate: float) -> None:
        """Give back a request's estimate (the service refused it, so charged nothing)."""
        if self.pu_bucket is not None:
            self.pu_bucket.debit(-estimate)

    @asynccontextmanager
    async def charge(self, estimate: float) -> AsyncIterator[Charge]:
        """Acquire for one request; set ``.actual`` on the yielded :class:`Charge` when known.

        On exit the bucket is settled by the actual charge; a request the
        service answered with an error (and no charge) is refunded; otherwise
        the estimate stays (the work may have been done).
        """
        await self.acquire(estimate)
        charge = Charge(estimate)
        try:
            yield charge
        except APIError:
            if charge.actual is None:
                self.refund(estimate)
            else:
                self.settle(estimate, charge.actual)
            raise
        except BaseException:
            self.settle(estimate, charge.actual)
            raise
        self.settle(estimate, charge.actual)

    def __repr__(self) -> str:
        return (
            f"ProcessingBudget(pu_per_minute={self.pu_per_minute}, "
            f"requests_per_minute={self.requests_per_minute}, spent={self.spent:.4f})"
        )


@asynccontextmanager
async def charged(budget: ProcessingBudget | None, estimate: Callable[[], float]) -> AsyncIterator[Charge]:
    """:meth:`ProcessingBudget.charge`, or a no-op without a budget.

    ``estimate`` is called only when there is a budget to charge: without one,
    a request's cost is never computed (its ``Charge.estimate`` is 0).
    """
    if budget is None:
        yield Charge(0.0)
        return
    async with budget.charge(estimate()) as charge:
        yield charge

"""The STAC paging lines of the floor table, from the ``stac-paging`` scenario when it is there.

``benchmarks/scenarios/stac_paging.py`` (with ``benchmarks/rustac_server.py``)
pages a real STAC server (``rustac serve``, 20,000 items) with eoclient,
pystac-client and bare aiohttp. This module only reads its ``SCENARIO``: its
``setup`` (the server), its sizes and its rows, picked by label: eoclient's
first row (typed items) and an eoclient row with "dict" in its label (else
the first again), pystac-client's ``.items()`` and ``.items_as_dicts()``
rows, and the bare aiohttp row (the floor). Without the module, or without a
row the table needs, the line says why it was not measured.
"""

from __future__ import annotations

import importlib
import importlib.util
import statistics
from collections.abc import Mapping
from typing import Any

from benchmarks.floor.measures import Goal, Measure
from benchmarks.report import Outcome
from benchmarks.spec import INSTALL_HINT, Row

NAME = "STAC paging items/s vs pystac-client .items() / .items_as_dicts()"
GOALS = ">= 2.5 / >= 1.3"
MODULE = "benchmarks.scenarios.stac_paging"


def missing(package: str) -> str | None:
    """Why ``package`` cannot be used here, or ``None``."""
    if importlib.util.find_spec(package) is not None:
        return None
    return f"{package} is not installed: {INSTALL_HINT.get(package, 'pip install ' + package)}"


def _find(rows: tuple[Row, ...], *words: str, exclude: str = "") -> Row | None:
    for row in rows:
        text = f"{row.label} {row.client}".lower()
        if all(w in text for w in words) and not (exclude and exclude in text):
            return row
    return None


def measures() -> tuple[list[Measure], str | None]:
    """The STAC measures, or none and the reason."""
    try:
        scenario = importlib.import_module(MODULE).SCENARIO
    except ImportError as exc:
        if exc.name == MODULE:
            return [], f"{MODULE} is missing (the stac-paging scenario)"
        return [], f"{MODULE} cannot be imported: {exc}"
    rows: tuple[Row, ...] = scenario.rows
    typed = rows[0]
    dicts = _find(rows, "eoclient", "dict") or typed
    items = _find(rows, "pystac", "items", exclude="dict")
    as_dicts = _find(rows, "pystac", "dict")
    floor = _find(rows, "aiohttp")
    if items is None or as_dicts is None:
        return [], "stac-paging has no pystac-client .items() / .items_as_dicts() rows to pair with"
    for row in (items, as_dicts):
        reason = missing(row.group) if row.group not in ("eoclient", "aiohttp") else None
        if reason is not None:
            return [], reason

    def items_per_s(outcome: Outcome, params: Mapping[str, Any]) -> float:
        return float(scenario.amount(params, outcome.facts)) / statistics.median(outcome.times)

    def measure(name: str, ours: Row, other: Row, goal: Goal | None) -> Measure:
        return Measure(
            name=name,
            module=scenario.module,
            ours=ours,
            floor=other,
            server="setup",
            # one timed run a child (each pages every item), as many rounds as the table's
            normal={**scenario.normal, "repeat": 1},
            quick={**scenario.quick, "repeat": 1},
            value=items_per_s,
            unit=scenario.unit,
            goal=goal,
            agree=scenario.agree,
            setup=scenario.setup,
            prepare=scenario.prepare,
            digits=0,
        )

    found = [
        measure("STAC paging items/s vs pystac-client .items()", typed, items, Goal(">=", 2.5)),
        measure("STAC paging items/s (dicts) vs .items_as_dicts()", dicts, as_dicts, Goal(">=", 1.3)),
    ]
    if floor is not None:
        found.append(measure("STAC paging items/s vs bare aiohttp (floor)", typed, floor, None))
    return found, None

"""stac-paging: page through every item of a real STAC API (``rustac serve``, 20,000 items), keeping them all.

The server is rustac's (PyPI's ``rustac``, memory backend; nobody here wrote
it), started around the rows by :mod:`benchmarks.rustac_server` with the same
generated items every time. Every row asks for the same POST ``/search`` of
the one collection, ``limit`` items a page, and follows the ``next`` links to
the end:

* eoclient: ``StacClient(url).search(collections=..., limit=...).collect()``
  (typed ``Item`` objects) and ``.dicts().collect()`` (plain dicts);
* pystac-client: ``Client.open(url).search(...).items()`` (``pystac.Item``
  objects) and ``.items_as_dicts()``;
* bare aiohttp posting the search and following the ``next`` links' bodies,
  ``json.loads`` per page (the floor).

rustac accepts any ``limit``; every row uses the same one (1000 by default).
Each row reports how many items it got and a digest of their ids in order:
the runner checks that they agree. ``python -m benchmarks.scenarios.stac_paging
--rounds 7`` runs the rows interleaved, round after round, and prints each
row's time and CPU relative to eoclient's in the same round (paired ratios:
median and range).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.measure import Context
from benchmarks.rustac_server import rustac_process
from benchmarks.spec import Row, Scenario


def _digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def _record(ctx: Context, ids: list[str]) -> None:
    ctx.fact(items=len(ids), ids=_digest(ids))


def _stac(ctx: Context) -> tuple[str, str, int]:
    stac = ctx.info["stac"]
    return stac["url"], stac["collection"], ctx.params["limit"]


# -- eoclient --------------------------------------------------------------------------------


def _eoclient(ctx: Context, *, dicts: bool) -> None:
    from eoclient.stac import StacClient  # noqa: PLC0415 - imported in the child, as the peers are

    url, collection, limit = _stac(ctx)

    async def main() -> None:
        async with StacClient(url) as stac:
            await stac.search(collections=collection, limit=limit, max_items=1).collect()  # warm-up
            for _ in ctx.repeats():
                with ctx.timed():
                    search = stac.search(collections=collection, limit=limit)
                    found: list[Any] = await (search.dicts() if dicts else search).collect()
                _record(ctx, [row["id"] for row in found] if dicts else [item.id for item in found])
                del found  # work MB is one repetition's, not two

    asyncio.run(main())


def eoclient_items(ctx: Context) -> None:
    _eoclient(ctx, dicts=False)


def eoclient_dicts(ctx: Context) -> None:
    _eoclient(ctx, dicts=True)


# -- pystac-client -----------------------------------------------------------------------------


def _pystac_client(ctx: Context, *, dicts: bool) -> None:
    from pystac_client import Client  # noqa: PLC0415 - the peer is optional

    url, collection, limit = _stac(ctx)
    client = Client.open(url)
    next(iter(client.search(collections=[collection], limit=limit, max_items=1).items()))  # warm-up
    for _ in ctx.repeats():
        with ctx.timed():
            search = client.search(collections=[collection], limit=limit)
            found = list(search.items_as_dicts() if dicts else search.items())
        _record(ctx, [f["id"] for f in found] if dicts else [item.id for item in found])
        del found


def pystac_client_items(ctx: Context) -> None:
    _pystac_client(ctx, dicts=False)


def pystac_client_dicts(ctx: Context) -> None:
    _pystac_client(ctx, dicts=True)


# -- the floor -----------------------------------------------------------------------------------


def aiohttp_pages(ctx: Context) -> None:
    import aiohttp  # noqa: PLC0415

    url, collection, limit = _stac(ctx)

    async def search(
        session: aiohttp.ClientSession, body: dict[str, Any], pages: int
    ) -> list[dict[str, Any]]:
        found: list[Any] = []
        target: str | None = f"{url}/search"
        while target is not None and pages > 0:
            pages -= 1
            async with session.post(target, json=body) as resp:
                resp.raise_for_status()
                page = json.loads(await resp.read())
            found.extend(page["features"])
            target = None
            for link in page.get("links", ()):
                if link.get("rel") == "next":
                    target = link["href"]
                    body = {**body, **link["body"]} if link.get("merge") else link.get("body", body)
        return found

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await search(session, {"collections": [collection], "limit": 1}, 1)  # warm-up: one page
            for _ in ctx.repeats():
                with ctx.timed():
                    found = await search(session, {"collections": [collection], "limit": limit}, sys.maxsize)
                _record(ctx, [f["id"] for f in found])
                del found

    asyncio.run(main())


# -- the scenario ----------------------------------------------------------------------------------


@contextmanager
def _setup(info: dict[str, Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with rustac_process(params["items"]) as stac:
        yield {"stac": stac}


SCENARIO = Scenario(
    name="stac-paging",
    module="benchmarks.scenarios.stac_paging",  # not __name__: it is __main__ when run as a script
    summary=(
        "Page through every item of a real STAC API (`rustac serve`, memory backend) with a POST "
        "search, `limit` items a page, keeping them all: eoclient's StacClient (typed Items, and dicts), "
        "pystac-client (.items(), .items_as_dicts()), bare aiohttp following the next links (the floor)."
    ),
    rows=(
        Row("eoclient StacClient.search().collect()", "eoclient_items"),
        Row("eoclient search().dicts().collect()", "eoclient_dicts", note="the same items as plain dicts"),
        Row("pystac-client search().items()", "pystac_client_items", "pystac_client", "pystac.Item objects"),
        Row("pystac-client items_as_dicts()", "pystac_client_dicts", "pystac_client", "plain dicts"),
        Row("aiohttp next links (floor)", "aiohttp_pages", "aiohttp", "json.loads per page"),
    ),
    normal={"items": 20_000, "limit": 1000, "repeat": 5},
    quick={"items": 120, "limit": 50, "repeat": 1},
    unit="items/s",
    amount=lambda params, facts: float(facts.get("items", params["items"])),
    headline=lambda p: (
        f"{p['items']:,} items from rustac serve, limit {p['limit']} ({-(-p['items'] // p['limit'])} pages)"
    ),
    agree=("items", "ids"),
    memory=True,
    setup=_setup,
)


# -- paired rounds ----------------------------------------------------------------------------------


def paired(rounds: int, *, quick: bool = False, timeout: float = 600.0) -> dict[str, dict[str, Any]]:
    """Run the rows interleaved, ``rounds`` times (order rotating), each once per round.

    Returns, per row label, its per-round wall and CPU times and the ratios
    to eoclient's typed row in the same round (``time_x``, ``cpu_x``: above 1
    means slower than eoclient). Rows whose peer is missing are left out.
    """
    from benchmarks.run import _child, _missing  # noqa: PLC0415 - the runner's child machinery

    params = dict(SCENARIO.quick if quick else SCENARIO.normal)
    params.update(repeat=1, min_time=0.0, max_repeat=1)
    rows = [row for row in SCENARIO.rows if _missing(row.group) is None]
    runs: dict[str, dict[str, list[float]]] = {row.label: {"wall": [], "cpu": []} for row in rows}
    ids: dict[str, Any] = {}
    with _setup({}, params) as info:
        for r in range(rounds):
            order = rows[r % len(rows) :] + rows[: r % len(rows)]
            for row in order:
                outcome = _child(SCENARIO, row, info, params, timeout)
                if outcome.status != "ok":
                    raise RuntimeError(f"{row.label}: {outcome.reason}")
                runs[row.label]["wall"].append(outcome.times[0])
                runs[row.label]["cpu"].append(outcome.cpu_times[0])
                ids[row.label] = (outcome.facts["items"], outcome.facts["ids"])
    if len(set(ids.values())) > 1:
        raise RuntimeError(f"the rows disagree on the items: {ids}")
    base = runs[SCENARIO.rows[0].label]
    out: dict[str, dict[str, Any]] = {}
    for label, got in runs.items():
        out[label] = {
            **got,
            "time_x": [w / b for w, b in zip(got["wall"], base["wall"], strict=True)],
            "cpu_x": [c / b for c, b in zip(got["cpu"], base["cpu"], strict=True)],
        }
    return out


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scenarios.stac_paging")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    load_before = _load()
    result = paired(args.rounds, quick=args.quick)
    n = SCENARIO.quick["items"] if args.quick else SCENARIO.normal["items"]
    print(f"stac-paging paired, {args.rounds} rounds, {n} items; load {load_before} -> {_load()}")
    print(f"{'row':42} {'items/s':>9} {'cpu s':>7} {'time x (min-max)':>20} {'cpu x (min-max)':>20}")
    for label, got in result.items():
        tx, cx = got["time_x"], got["cpu_x"]
        print(
            f"{label:42} {n / statistics.median(got['wall']):9.0f} {statistics.median(got['cpu']):7.3f} "
            f"{statistics.median(tx):8.2f} ({min(tx):.2f}-{max(tx):.2f}) "
            f"{statistics.median(cx):8.2f} ({min(cx):.2f}-{max(cx):.2f})"
        )
    labels = [row.label for row in SCENARIO.rows]
    print("wall-time ratios, paired per round (median, min-max):")
    for den, num, what in (
        (0, 2, "pystac-client .items() / eoclient Items"),
        (1, 3, "pystac-client .items_as_dicts() / eoclient dicts"),
        (0, 3, "pystac-client .items_as_dicts() / eoclient Items"),
        (4, 0, "eoclient Items / floor (aiohttp)"),
    ):
        if labels[den] in result and labels[num] in result:
            walls = zip(result[labels[num]]["wall"], result[labels[den]]["wall"], strict=True)
            x = [a / b for a, b in walls]
            print(f"  {what:50} {statistics.median(x):5.2f} ({min(x):.2f}-{max(x):.2f})")


if __name__ == "__main__":
    main(sys.argv[1:])

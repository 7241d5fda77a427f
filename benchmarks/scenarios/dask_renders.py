"""dask-renders: M small Process renders into files, on 1 and 2 Dask workers and in one process.

The same job three ways, C renders in flight for the whole account each time:

- the bulk engine in one process: :func:`eoclient.bulk.download_all` with a
  :class:`~eoclient.sentinelhub.process_area.TileSource` per render (what
  every worker runs);
- ``eoclient.dask`` on a ``LocalCluster`` of 1 worker process, then 2:
  :meth:`~eoclient.dask.ClusterAccount.process_all`, the requests split in
  chunks, each worker's client under the account's permits (lent by the
  scheduler in blocks: :mod:`eoclient.dask.permits`).

Starting the cluster and attaching the account are not timed; a warm-up run
opens every worker's token and connections. Each repetition renders into a
fresh folder (nothing skipped). The emulator answers each render after its
own ``--latency`` (none by default), so what is measured is the client side:
CPU per render, and the cluster's overhead (task dispatch, the permits'
scheduler round trips — about 0.2 a render, where a ``distributed.Semaphore``
made 2 — each item's event, the results' way back).

On one machine the cluster can only lose: its workers, its scheduler and the
emulator (which renders) share the same cores. What it buys is hosts: each
worker's CPU, network and disk are its own, and the scheduler's part is a few
small messages a request, far below what it can handle, and far more than
any account's rate limit allows.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import eoclient_request, evalscript, tile
from benchmarks.spec import Row, Scenario

SCRIPT = evalscript(3, "UINT8")


def _requests(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"r{i:05d}": eoclient_request(tile(i), p["size"], p["size"], SCRIPT) for i in range(p["renders"])}


def eoclient_bulk(ctx: Context) -> None:
    from eoclient.bulk import BulkReport, Download, download_all  # noqa: PLC0415
    from eoclient.sentinelhub.prepared import prepare_process  # noqa: PLC0415
    from eoclient.sentinelhub.process_area import AreaTiles, TileSource  # noqa: PLC0415

    p = ctx.params

    async def run(sh: Any, requests: dict[str, dict[str, Any]], folder: Any) -> Any:
        spent = AreaTiles(BulkReport())
        items = [
            Download(
                TileSource(sh.transport, prepare_process(r), lambda: sh.budget, name, spent),
                folder / f"{name}.tif",
            )
            for name, r in requests.items()
        ]
        folder.mkdir(parents=True)
        return await download_all(None, items, concurrency=p["concurrency"], policy=sh.transport.retry)

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await run(sh, dict(list(_requests(p).items())[:4]), ctx.workdir / "warm")
            for i in ctx.repeats():
                folder = ctx.workdir / f"run{i}"
                with ctx.timed():
                    report = await run(sh, _requests(p), folder)
                _record(ctx, report)
                shutil.rmtree(folder)

    asyncio.run(main())


def _record(ctx: Context, report: Any) -> None:
    report.raise_for_failures()
    ctx.fact(files=len(report.downloaded), bytes=report.bytes)


def _dask(ctx: Context, workers: int) -> None:
    from distributed import Client, LocalCluster  # noqa: PLC0415 - the dask extra

    from eoclient.dask import AccountLimits, ClientSpec, ClusterAccount  # noqa: PLC0415

    p = ctx.params
    creds = ctx.info["credentials"]
    spec = ClientSpec.sentinelhub(
        creds["sh_client_id"],
        creds["sh_client_secret"],
        base_url=ctx.info["sentinelhub_url"],
        token_url=ctx.info["sentinelhub_token_url"],
    )
    limits = AccountLimits(concurrency=p["concurrency"])

    async def main() -> None:
        async with (
            LocalCluster(
                n_workers=workers,
                processes=True,
                threads_per_worker=1,
                dashboard_address=":0",
                asynchronous=True,
            ) as cluster,
            Client(cluster, asynchronous=True) as dask_client,
            ClusterAccount(dask_client, spec, limits=limits, per_worker=p["concurrency"]) as account,
        ):
            await account.process_all(
                dict(list(_requests(p).items())[:8]), ctx.workdir / "warm", chunk_size=2
            )
            for i in ctx.repeats():
                folder = ctx.workdir / f"run{i}"
                with ctx.timed():
                    report = await account.process_all(_requests(p), folder)
                _record(ctx, report)
                shutil.rmtree(folder)

    asyncio.run(main())


def eoclient_dask_1(ctx: Context) -> None:
    _dask(ctx, 1)


def eoclient_dask_2(ctx: Context) -> None:
    _dask(ctx, 2)


SCENARIO = Scenario(
    name="dask-renders",
    module=__name__,
    summary=(
        "M small Process renders (a 64x64 3-band UINT8 TIFF each) written to files, C in flight for the "
        "account: the bulk engine in one process vs eoclient.dask on 1 and 2 worker processes."
    ),
    rows=(
        Row("eoclient bulk engine, one process", "eoclient_bulk"),
        Row("eoclient.dask, 1 worker process", "eoclient_dask_1", note="LocalCluster, processes=True"),
        Row("eoclient.dask, 2 worker processes", "eoclient_dask_2", note="LocalCluster, processes=True"),
    ),
    normal={"renders": 2000, "concurrency": 16, "size": 64, "repeat": 3},
    quick={"renders": 40, "concurrency": 4, "size": 32, "repeat": 1},
    unit="renders/s",
    amount=lambda params, facts: float(params["renders"]),
    headline=lambda p: (
        f"{p['renders']} renders of {p['size']}x{p['size']} TIFF into files, C={p['concurrency']}"
    ),
    agree=("files", "bytes"),
)

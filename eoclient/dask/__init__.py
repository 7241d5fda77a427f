"""Bulk work across a Dask cluster under one account budget (``pip install 'eoclient[dask]'``).

Many Process renders (``process_each``/``process_all``), the tiles of a large
area (``process_area``: the mosaic a lazy dask-backed ``xarray.DataArray``)
or many GETs such as a Kraken map's files (``download_each``/``download_all``)
fan out over the workers of a ``distributed.Client``; each worker runs one eoclient client on its own event
loop and writes into a destination every worker sees, with the bulk engine's
guarantees (bounded, retried, atomic files, skip on rerun). The account's
request pace, requests in flight and processing units hold for the cluster
as a whole, coordinated by the scheduler; a 429 one worker sees pauses all.

Example::

    from distributed import Client, LocalCluster
    from eoclient.dask import AccountLimits, ClientSpec, ClusterAccount

    async with Client(LocalCluster(n_workers=4), asynchronous=True) as dask_client:
        limits = AccountLimits(concurrency=16, requests_per_second=20, pu_per_minute=3000)
        async with ClusterAccount(dask_client, ClientSpec.sentinelhub(), limits=limits) as account:
            async for outcome in account.process_each(requests, "/shared/renders"):
                print(outcome)

The scheduler and every worker need eoclient installed (the same environment).
"""

from __future__ import annotations

import importlib.util

from eoclient.errors import ConfigurationError

if importlib.util.find_spec("distributed") is None:  # pragma: no cover - the extra is in the test env
    raise ConfigurationError("eoclient.dask needs the dask extra: pip install 'eoclient[dask]'")

from eoclient.dask.account import AccountLimits, AccountPace, AccountPlugin
from eoclient.dask.cluster import ClusterAccount, ClusterReport, Progress
from eoclient.dask.spec import ClientSpec
from eoclient.dask.stores import StoreSpec
from eoclient.dask.worker import ClientPlugin, WorkerItemError

__all__ = [
    "AccountLimits",
    "AccountPace",
    "AccountPlugin",
    "ClientPlugin",
    "ClientSpec",
    "ClusterAccount",
    "ClusterReport",
    "Progress",
    "StoreSpec",
    "WorkerItemError",
]

"""eoclient without ``await``: for scripts and notebooks.

``eoclient.sync.SentinelHub`` and ``eoclient.sync.SpaceKnow`` take the same
arguments as the async clients and have the same families and methods, not
written twice but generated from the async API at run time:

* ``await sh.process(request)`` is ``sh.process(request)``;
* ``async for item in sh.catalog.search(...)`` is ``for item in ...``, and
  ``.collect()`` / ``.pages()`` of a listing work the same way;
* a Job: ``job.wait()`` (or ``job.result()`` for ``await job``),
  ``for status in job.watch()``, ``job.cancel()``, ``for out in job.outputs()``,
  ``job.download(dest)``; what it yields (an ``Output``) is sync too:
  ``out.to_xarray()``;
* ``async with`` is ``with``; nested families are there (``sh.batch.v1``).

Each client runs one event loop in a background thread (an anyio blocking
portal), started by ``with`` or the first call and stopped by ``close()``.
The calling thread only waits, so this works where an event loop already
runs (Jupyter). Errors are the :mod:`eoclient.errors` of the async API.

Typing: the generated objects are typed ``Any`` (their methods are those of
the async API without the ``Awaitable``); the async classes' documentation
applies, and ``help(sh.process)`` shows it.

Example::

    import eoclient.sync

    with eoclient.sync.SentinelHub() as sh:
        scenes = sh.catalog.search("sentinel-2-l2a", bbox=BBOX, datetime=JUNE, max_items=5).collect()
        result = sh.process(request)
        ndvi = result.to_xarray()
"""

from eoclient.sync._proxy import SyncProxy, unwrap
from eoclient.sync.clients import SentinelHub, SpaceKnow, SyncClient

__all__ = ["SentinelHub", "SpaceKnow", "SyncClient", "SyncProxy", "unwrap"]

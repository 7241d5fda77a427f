"""The Sentinel Hub service as the emulator plays it, one module (or package) per API family.

Each family's ``setup(app, state)`` adds its routes (:data:`eoclient.emulator.server.SENTINELHUB_SETUP`);
every refusal is a :class:`~eoclient.emulator.core.refusal.Refusal` answered in
Sentinel Hub's error shape (the Catalog's: a STAC exception)::

    process/            Process API: validation, evalscript, units (PU), rendering, routes
    statistics.py       Statistical API (its aggregation checks are shared with batch_statistics)
    catalog/            STAC Catalog: data, cql2, query, stac (answers, error shape), routes
    byoc/               BYOC: data (collections, tiles, band rules), files (Planet tiles), routes
    tiling_grids.py     Batch v2 tiling grids
    batch.py            Batch v2 routes      } one state machine:
    batch_v1.py         legacy Batch routes  } batch_engine.py
    async_process.py    Async Process routes;       its state machine: async_process_engine.py
    batch_statistics.py Batch Statistical routes;   its state machine: batch_statistics_engine.py
    storage.py          s3/gs locations in bodies
    common.py           the ``{"data", "links"}`` listing page (``viewtoken``), derived seeds
"""

"""The scenarios, in the order they run."""

from __future__ import annotations

from benchmarks.scenarios import (
    catalog_search,
    dask_renders,
    decode,
    jobs_idle_memory,
    jobs_monitor,
    process_area,
    process_large,
    process_many,
    s3_download,
    s3_list,
    small_json_get,
    stac_paging,
)
from benchmarks.spec import Scenario

SCENARIOS: tuple[Scenario, ...] = (
    catalog_search.SCENARIO,
    process_many.SCENARIO,
    process_large.SCENARIO,
    decode.SMALL,
    decode.LARGE,
    process_area.SCENARIO,
    small_json_get.SCENARIO,
    jobs_idle_memory.SCENARIO,
    jobs_monitor.SCENARIO,
    s3_list.SCENARIO,
    s3_download.SCENARIO,
    dask_renders.SCENARIO,
    stac_paging.SCENARIO,
)
BY_NAME = {s.name: s for s in SCENARIOS}

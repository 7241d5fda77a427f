"""Statistical and Batch Statistical answers from the emulator as tidy DataFrames."""

from __future__ import annotations

import math

import pytest

from eoclient.emulator import Emulator
from eoclient.emulator.sentinelhub.batch_statistics_engine import batch_statistics_store
from eoclient.sentinelhub import SentinelHub
from eoclient.tables import frame_of, statistics_frame
from tests.extras import need
from tests.integration.conftest import sh_client
from tests.integration.test_batch_statistics import request as batch_request
from tests.integration.test_statistics import typed_request

pd = need("pandas")

pytestmark = pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)


async def test_statistics_to_pandas_matches_the_answer(sh: SentinelHub) -> None:
    answer = await sh.statistics(typed_request(30))
    frame = answer.to_pandas()
    good = [d for d in answer.data if d.error is None]
    assert answer.errors and good, "the emulator fails about one interval in five"

    # Every failed interval is one row, with its error.
    failed = frame[frame["error"].notna()]
    assert len(failed) == len(answer.errors)
    for item, (_, row) in zip(answer.errors, failed.iterrows(), strict=True):
        assert item.error is not None
        assert row["error"] == f"{item.error.type}: {item.error.message}"
        assert row["interval_from"] == pd.Timestamp(item.interval.from_)
        assert math.isnan(row["value"]) and row["statistic"] is None

    # Every number the model holds is one row, and nothing else is.
    ok = frame[frame["error"].isna()]
    expected = 0
    for item in good:
        for output, out in item.outputs.items():
            for band, stats in out.bands.items():
                assert stats.stats is not None
                s = stats.stats
                rows = ok[
                    (ok["interval_from"] == pd.Timestamp(item.interval.from_))
                    & (ok["output"] == output)
                    & (ok["band"] == band)
                ].set_index("statistic")["value"]
                named = {"min": s.min, "max": s.max, "mean": s.mean, "stDev": s.st_dev}
                named |= {"sampleCount": s.sample_count, "noDataCount": s.no_data_count}
                for name, value in named.items():
                    if value is None:
                        assert name not in rows.index
                    elif math.isnan(value):
                        assert math.isnan(rows[name])
                    else:
                        assert rows[name] == value
                if output == "ndvi":  # k = 0.1, 0.5, 0.9 as fractions
                    for k, name in ((0.1, "p10"), (0.5, "p50"), (0.9, "p90")):
                        assert rows[name] == s.percentile(k) or math.isnan(rows[name])
                expected += len(rows)
    assert len(ok) == expected
    assert frame["value"].dtype == "float64"
    assert isinstance(frame["interval_from"].dtype, pd.DatetimeTZDtype)


async def test_statistics_histograms_frame(sh: SentinelHub) -> None:
    answer = await sh.statistics(typed_request(10))
    bins = answer.to_pandas(histograms=True)
    ok = bins[bins["error"].isna()]
    good = [d for d in answer.data if d.error is None]
    # ndvi: 8 bins per band; default (the other outputs): B1 with 3 bins, where the output has a B1.
    ndvi = ok[ok["output"] == "ndvi"]
    assert len(ndvi) == 8 * len(good)
    first = ndvi.iloc[:8]
    assert first["low_edge"].iloc[0] == -1.0 and first["high_edge"].iloc[-1] == 1.0
    rgb = ok[ok["output"] == "rgb"]
    assert set(rgb["band"]) == {"B1"} and len(rgb) == 3 * len(good)
    assert str(bins["count"].dtype) == "Int64"
    assert len(bins[bins["error"].notna()]) == len(answer.errors)


async def test_batch_statistics_features_as_one_frame(eo_emulator: Emulator) -> None:
    async with sh_client(eo_emulator) as sh:
        job = await sh.batch_statistics.create(batch_request(), start=True)
        frame = await frame_of(job.results())
        count = batch_statistics_store(eo_emulator.state).requests[job.id].features
        assert frame.columns[0] == "feature"
        assert sorted(frame["feature"].unique(), key=int) == [str(i) for i in range(1, count + 1)]

        items = [item async for item in job.results()]
        assert len(statistics_frame(items)) == len(frame)
        with_data = 0
        for item in items:
            own = item.to_pandas()
            assert (own["feature"] == item.feature).all()
            mine = frame[frame["feature"] == item.feature].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, own)
            assert own["error"].notna().sum() == len(item.statistics.errors)
            if item.statistics.ok:
                with_data += 1
                # Percentiles were asked as fractions (k = 0.1, 0.5, 0.9).
                assert {"p10", "p50", "p90"} <= set(own["statistic"])
        assert with_data, "no feature without a failed interval: the percentiles were not checked"

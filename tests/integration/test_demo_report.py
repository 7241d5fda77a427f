"""The demo's report.html, opened in headless Chromium: every image loads, no console errors.

Chromium and its driver are Debian's ``chromium`` and ``chromium-driver``
(``.ci/run`` installs them); selenium drives them from the test extra. Nothing
is downloaded at test time, and a missing browser fails the test: it does not
skip.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from eoclient.demo import run_demo
from eoclient.demo_report import REPORT_NAME, STITCHED_NAME
from tests.extras import need

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = "/usr/bin/chromedriver"
# The page may name only files beside it: no scheme, no host, no absolute path.
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:)(?:[a-z][a-z0-9+.-]*:|//|/)""", re.I)


def _browser() -> Any:
    webdriver = need("selenium.webdriver")
    binary = next((path for path in CHROMIUM if Path(path).exists()), None)
    if binary is None or not Path(CHROMEDRIVER).exists():
        pytest.fail("Chromium is not installed: apt-get install -y chromium chromium-driver (.ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium then never looks for (or downloads) a driver of its own.
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = _browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out_dir = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    anyio.run(lambda: run_demo(seed=3, clock_speed=200.0, out=out, out_dir=out_dir))
    return out_dir, [json.loads(line) for line in out.getvalue().splitlines()]


def _open(browser: Any, page: Path) -> dict[str, Any]:
    browser.get(page.as_uri())
    # Wait for every image to settle (loaded or broken), then measure them.
    wait = need("selenium.webdriver.support.wait")
    wait.WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete)")
    )
    images = browser.execute_script(
        "return [...document.images].map(i => ({src: i.getAttribute('src'), width: i.naturalWidth}))"
    )
    return {"images": images, "log": browser.get_log("browser")}


def test_every_image_loads_and_the_console_is_clean(report, browser) -> None:  # type: ignore[no-untyped-def]
    out_dir, lines = report
    page = out_dir / REPORT_NAME
    assert lines[-2] == {"event": "report", "path": str(page), "directory": str(out_dir)}
    seen = _open(browser, page)
    images = seen["images"]
    summary = lines[-1]
    # a thumbnail per rendered scene, the area quicklook, the Kraken map stitched into one picture
    assert len(images) == summary["sentinelhub"]["rendered"] + 2
    assert {"quicklook.png", STITCHED_NAME} <= {i["src"] for i in images}
    broken = [i["src"] for i in images if not i["width"]]
    assert not broken, broken
    errors = [entry for entry in seen["log"] if entry["level"] in ("SEVERE", "WARNING")]
    assert not errors, errors


def test_the_report_is_self_contained_and_shows_the_jobs_and_statistics(report) -> None:  # type: ignore[no-untyped-def]
    out_dir, lines = report
    text = (out_dir / REPORT_NAME).read_text(encoding="utf-8")
    assert not EXTERNAL.findall(text), EXTERNAL.findall(text)
    assert "<script" not in text.lower()
    for src in re.findall(r'src="([^"]+)"', text):
        assert (out_dir / src).is_file(), src
    summary = lines[-1]
    # every job's timeline ends in the state the summary reports
    for name, job in summary["jobs"].items():
        assert re.search(rf"<title>{re.escape(name)}: {job['status']} from [0-9.]+ s</title>", text), name
    # the chart: one bar per interval of the Batch Statistical table
    table = (out_dir / "batch-statistics.csv").read_text(encoding="utf-8").splitlines()
    assert table[0] == "feature,interval_from,interval_to,output,band,statistic,value,error"
    features = {row.split(",")[0] for row in table[1:]}
    # every feature read is in the table (the summary counts those with an NDVI mean)
    assert len(features) >= summary["jobs"]["batch-statistics"]["features"] > 0
    intervals = {row.split(",")[1][:10] for row in table[1:]}
    bars = re.findall(r"<title>(\d{4}-\d\d-\d\d): (-?[0-9.]+)</title>", text)
    assert {day for day, _ in bars} == intervals and all(0 < float(v) < 1 for _, v in bars)


def test_without_numpy_the_map_is_a_grid_of_its_tiles(report, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eoclient import demo_report

    out_dir, _ = report
    copy = tmp_path / "copy"
    shutil.copytree(out_dir / "map", copy / "map")
    tiles = {
        tuple(int(p) for p in png.relative_to(copy / "map").parts[:3]): png.relative_to(copy)
        for png in (copy / "map").rglob("*.png")
    }
    record = demo_report.DemoRecord(copy, map_tiles=tiles)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo_report, "_optional", lambda name: None)  # as if numpy were not installed
        page = demo_report.write_report(record)
    assert not (copy / STITCHED_NAME).exists()
    seen = _open(browser, page)
    assert len(seen["images"]) == len(tiles) > 0
    assert all(i["width"] > 0 for i in seen["images"])
    assert not [e for e in seen["log"] if e["level"] in ("SEVERE", "WARNING")]


def test_the_stitched_map_holds_every_tile(report) -> None:  # type: ignore[no-untyped-def]
    imagecodecs = need("imagecodecs")
    out_dir, _ = report
    stitched = imagecodecs.png_decode((out_dir / STITCHED_NAME).read_bytes())
    tiles = sorted((out_dir / "map").rglob("*.png"))
    xs = {int(p.relative_to(out_dir / "map").parts[1]) for p in tiles}
    ys = {int(p.relative_to(out_dir / "map").parts[2]) for p in tiles}
    first = imagecodecs.png_decode(tiles[0].read_bytes())
    assert stitched.shape[:2] == (len(ys) * first.shape[0], len(xs) * first.shape[1])
    # the tile at the grid's top-left corner is the stitched picture's top-left block
    x0, y0 = min(xs), min(ys)
    corner = imagecodecs.png_decode(
        next(p for p in tiles if p.parts[-3:-1] == (str(x0), str(y0))).read_bytes()
    )
    assert (stitched[: first.shape[0], : first.shape[1], : corner.shape[2]] == corner).all()

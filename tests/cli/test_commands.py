"""Every subcommand through ``main([...])`` against the emulator: outputs, exit codes, the error line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import cli

pytestmark = pytest.mark.usefixtures("emu_env")

AOI = {
    "type": "Polygon",
    "coordinates": [[[14.2, 49.9], [14.7, 49.9], [14.7, 50.2], [14.2, 50.2], [14.2, 49.9]]],
}
SUMMER = {"from": "2023-06-01T00:00:00Z", "to": "2023-08-31T23:59:59Z"}
ROLE = "arn:aws:iam::123456789012:role/eoclient-cli"
TRUE_COLOR = """//VERSION=3
function setup() { return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [2.5 * s.B04 * 255, 2.5 * s.B03 * 255, 2.5 * s.B02 * 255]; }
"""
S2 = [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": SUMMER}}]


def render(width: int = 32, fmt: str = "image/tiff") -> dict[str, Any]:
    return {
        "input": {"bounds": {"geometry": AOI}, "data": S2},
        "output": {
            "width": width,
            "height": 24,
            "responses": [{"identifier": "default", "format": {"type": fmt}}],
        },
        "evalscript": TRUE_COLOR,
    }


def write(path: Path, doc: Any) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def test_catalog_search_prints_geojson_features(capsys) -> None:  # type: ignore[no-untyped-def]
    ran = cli(
        capsys,
        "catalog",
        "search",
        "sentinel-2-l2a",
        "--bbox",
        "10,45,20,52",
        "--datetime",
        "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z",
        "--max-items",
        "5",
    )
    assert ran.code == 0, ran.err
    features = ran.lines()
    assert 0 < len(features) <= 5
    assert all(f["type"] == "Feature" and f["geometry"]["type"] and f["id"] for f in features)
    assert {f["collection"] for f in features} == {"sentinel-2-l2a"}


def test_process_one_request_to_a_file_and_from_stdin(capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ran = cli(capsys, "process", write(tmp_path / "scene.json", render()), "-o", str(tmp_path / "scene.tif"))
    assert ran.code == 0, ran.err
    [record] = ran.lines()
    assert record["bytes"] == (tmp_path / "scene.tif").stat().st_size > 0
    assert (tmp_path / "scene.tif").read_bytes()[:2] in (b"II", b"MM")

    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(render(fmt="image/png"))))
    ran = cli(capsys, "process", "-", "-o", str(tmp_path / "stdin.png"))
    assert ran.code == 0, ran.err
    assert (tmp_path / "stdin.png").read_bytes()[:4] == b"\x89PNG"


def test_process_many_requests_to_a_folder_concurrently(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    batch = write(tmp_path / "many.json", [render(16), render(20), render(24, "image/png")])
    ran = cli(capsys, "process", batch, "-o", str(tmp_path / "out"), "--concurrency", "3")
    assert ran.code == 0, ran.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["many-1.tif", "many-2.tif", "many-3.png"]
    assert len(ran.lines()) == 3 and not any(r["skipped"] for r in ran.lines())
    again = cli(capsys, "process", batch, "-o", str(tmp_path / "out"))  # a rerun skips what is there
    assert again.code == 0 and all(r["skipped"] for r in again.lines())


def test_process_refuses_bad_input_before_sending(capsys, tmp_path, served) -> None:  # type: ignore[no-untyped-def]
    sent = len(served.emulator.requests)
    (tmp_path / "a-file").write_text("x")
    batch = write(tmp_path / "many.json", [render(), render()])
    cases = {
        "is an existing file, but a folder is needed": ["process", batch, "-o", str(tmp_path / "a-file")],
        "cannot read the request file": [
            "process",
            str(tmp_path / "missing.json"),
            "-o",
            str(tmp_path / "x"),
        ],
        "not valid JSON": ["process", str(tmp_path / "a-file"), "-o", str(tmp_path / "x.tif")],
        "output.width": [
            "process",
            write(tmp_path / "bad.json", render(width=-3)),
            "-o",
            str(tmp_path / "y"),
        ],
        "must be at least 1": ["process", batch, "-o", str(tmp_path / "d"), "--concurrency", "0"],
    }
    for needle, args in cases.items():
        ran = cli(capsys, *args)
        assert ran.code == 2, (needle, ran.err)
        assert ran.err.count("\n") == 1 and ran.err.startswith("eoclient: ") and needle in ran.err, ran.err
        assert "Traceback" not in ran.err and ran.out == ""
    assert len(served.emulator.requests) == sent


def batch_request(description: str) -> dict[str, Any]:
    return {
        "processRequest": {
            "input": {"bounds": {"geometry": AOI}, "data": S2},
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": TRUE_COLOR,
        },
        "input": {"type": "tiling-grid", "id": 1, "resolution": 20.0},
        "output": {
            "type": "raster",
            "delivery": {"s3": {"url": "s3://eoclient-cli/batch", "iamRoleARN": ROLE}},
        },
        "description": description,
    }


def test_batch_from_creation_to_downloaded_outputs(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = write(tmp_path / "batch.json", batch_request("cli test"))
    created = cli(capsys, "batch", "create", spec)
    assert created.code == 0, created.err
    [record] = created.lines()
    job_id = record["id"]
    assert record["status"] == "CREATED"

    listed = cli(capsys, "batch", "list", "--max-items", "100")
    assert job_id in {r["id"] for r in listed.lines()}
    assert cli(capsys, "batch", "analyse", job_id).code == 0
    waited = cli(capsys, "batch", "wait", job_id, "--start")
    assert waited.code == 0, waited.err
    lines = waited.lines()
    assert [line["status"] for line in lines if line.get("event") == "status"][-1] == "DONE"
    assert lines[-1]["status"] == "DONE"
    assert cli(capsys, "batch", "get", job_id).lines()[0]["status"] == "DONE"

    outputs = cli(capsys, "batch", "outputs", job_id)
    assert outputs.code == 0, outputs.err
    keys = {o["key"] for o in outputs.lines()}
    assert keys and all(k.endswith(".tif") for k in keys)
    downloaded = cli(capsys, "batch", "download", job_id, "-o", str(tmp_path / "dl"))
    assert downloaded.code == 0, downloaded.err
    files = [p for p in (tmp_path / "dl").rglob("*") if p.is_file()]
    assert len(files) == len(keys) and all(p.stat().st_size > 0 for p in files)


def test_batch_stop_and_an_unknown_request(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    job = cli(capsys, "batch", "create", write(tmp_path / "b.json", batch_request("stopped")), "--start")
    assert job.code == 0, job.err
    job_id = job.lines()[0]["id"]
    assert cli(capsys, "batch", "stop", job_id).code == 0
    waited = cli(capsys, "batch", "wait", job_id)
    assert waited.code == 1 and waited.err.startswith("eoclient: ") and waited.err.count("\n") == 1

    unknown = cli(capsys, "batch", "get", "00000000-0000-0000-0000-000000000000")
    assert unknown.code == 1
    assert unknown.err.startswith("eoclient: ") and "404" in unknown.err and unknown.err.count("\n") == 1


def test_batch_stats_create_and_wait(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ndvi = """//VERSION=3
function setup() {
  return {input: [{bands: ["B04", "B08", "dataMask"]}],
          output: [{id: "ndvi", bands: 1, sampleType: "FLOAT32"}, {id: "dataMask", bands: 1}]};
}
function evaluatePixel(s) { return {ndvi: [(s.B08 - s.B04) / (s.B08 + s.B04)], dataMask: [s.dataMask]}; }
"""
    request = {
        "input": {
            "features": {"s3": {"url": "s3://eoclient-cli/fields.gpkg", "iamRoleARN": ROLE}},
            "data": [{"type": "sentinel-2-l2a", "dataFilter": {"mosaickingOrder": "leastCC"}}],
        },
        "aggregation": {
            "timeRange": SUMMER,
            "aggregationInterval": {"of": "P30D"},
            "evalscript": ndvi,
            "resx": 10,
            "resy": 10,
        },
        "output": {"s3": {"url": "s3://eoclient-cli/fields-stats", "iamRoleARN": ROLE}},
    }
    ran = cli(capsys, "batch-stats", "create", write(tmp_path / "stats.json", request), "--wait")
    assert ran.code == 0, ran.err
    lines = ran.lines()
    assert lines[0]["id"] and lines[-1]["status"] == "DONE"
    listed = cli(capsys, "batch-stats", "list")
    assert lines[0]["id"] in {r["id"] for r in listed.lines()}


def test_async_process_delivers_and_downloads(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    request = render(64)
    request["output"]["delivery"] = {"s3": {"url": "s3://eoclient-cli/async", "iamRoleARN": ROLE}}
    ran = cli(
        capsys, "async-process", "create", write(tmp_path / "a.json", request), "-o", str(tmp_path / "a")
    )
    assert ran.code == 0, ran.err
    assert any(line.get("key", "").endswith("default.tif") for line in ran.lines())
    assert [p.name for p in (tmp_path / "a").rglob("*.tif")] == ["default.tif"]


def test_byoc_collection_and_tiles(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    made = cli(
        capsys,
        "byoc",
        "create-collection",
        write(tmp_path / "c.json", {"name": "cli-collection", "s3Bucket": "eoclient-cli-byoc"}),
    )
    assert made.code == 0, made.err
    coll_id = made.lines()[0]["id"]
    listed = cli(capsys, "byoc", "collections")
    assert coll_id in {c["id"] for c in listed.lines()}
    assert cli(capsys, "byoc", "tiles", coll_id).lines() == []


def test_spaceknow_search_release_download_csv_credits(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    geometry = write(tmp_path / "aoi.geojson", {"type": "Feature", "geometry": AOI, "properties": {}})
    found = cli(
        capsys,
        "spaceknow",
        "search",
        "--dataset",
        "pl/PSScene",
        "--geometry",
        geometry,
        "--start",
        "2023-01-01 00:00:00",
        "--end",
        "2023-12-31 23:59:59",
        "--max-items",
        "5",
    )
    assert found.code == 0, found.err
    scenes = found.lines()
    assert scenes and all(s["sceneId"] for s in scenes)

    released = cli(
        capsys,
        "spaceknow",
        "release",
        "trees",
        "--scene",
        scenes[-1]["sceneId"],
        "--geometry",
        geometry,
        "--json",
    )
    assert released.code == 0, released.err
    (tmp_path / "release.jsonl").write_text(released.out)
    record = released.lines()[-1]
    assert record["event"] == "released" and record["mapId"] and record["tiles"]
    got = cli(
        capsys, "spaceknow", "download-map", str(tmp_path / "release.jsonl"), "-o", str(tmp_path / "map")
    )
    assert got.code == 0, got.err
    pngs = list((tmp_path / "map").rglob("*.png"))
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)

    csv = cli(capsys, "spaceknow", "product-csv", "SK_ABAI_AR_M")
    assert csv.code == 0 and csv.out.count("\n") > 1 and "," in csv.out.splitlines()[0]
    credit = cli(capsys, "spaceknow", "credits")
    assert credit.code == 0 and "remainingCredit" in credit.lines()[0]


def test_service_errors_are_one_line_with_the_services_message(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SH_CLIENT_SECRET", "not-the-secret-at-all")
    ran = cli(
        capsys, "catalog", "search", "sentinel-2-l2a", "--bbox", "10,45,20,52", "--datetime", "2023-06-01/.."
    )
    assert ran.code == 1
    assert ran.err.startswith("eoclient: ") and ran.err.count("\n") == 1 and "401" in ran.err
    assert "not-the-secret-at-all" not in ran.err + ran.out

    debug = cli(
        capsys,
        "--debug",
        "catalog",
        "search",
        "sentinel-2-l2a",
        "--bbox",
        "10,45,20,52",
        "--datetime",
        "2023-06-01/..",
    )
    assert debug.code == 1 and "Traceback" in debug.err


def test_missing_credentials_and_bad_arguments_exit_2(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SH_CLIENT_ID")
    ran = cli(capsys, "catalog", "search", "sentinel-2-l2a")
    assert ran.code == 2 and "SH_CLIENT_ID" in ran.err and ran.err.count("\n") == 1
    for args in (
        ["catalog", "search", "x", "--bbox", "1,2,3"],
        ["nope"],
        ["batch", "get"],
        ["demo", "--clock-speed", "-1"],
        ["spaceknow", "search", "--dataset", "PSScene"],
    ):
        bad = cli(capsys, *args)
        assert bad.code == 2 and bad.err.startswith("eoclient: ") and bad.err.count("\n") == 1, (
            args,
            bad.err,
        )

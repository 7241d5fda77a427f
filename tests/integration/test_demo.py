"""The README's first command: ``eoclient demo`` against the embedded emulator."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from eoclient.demo import run_demo


async def test_demo_runs_every_step_and_survives_faults() -> None:
    out = io.StringIO()
    summary = await run_demo(seed=3, clock_speed=200.0, out=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "emulator.started"
    assert events[-1] == "demo.done"
    assert summary["jobs"]["mosaic"]["items"] == 9
    assert summary["jobs"]["broken"] == {"failed": "no data in AOI"}
    assert summary["jobs"]["too-long"] == {"cancelled": True}
    assert summary["jobs"]["late"] == {"items": 3, "resumed": True}
    assert {"rate_limit", "server_error", "html_error"} <= set(summary["faults_survived"])
    assert summary["jobs"]["sentinelhub"]["scenes"] == summary["jobs"]["sentinelhub"]["rendered"] > 0
    assert summary["jobs"]["sentinelhub"]["pu_spent"] > 0
    assert summary["jobs"]["spaceknow"]["scenes"] == 60
    assert summary["jobs"]["spaceknow"]["credits_spent"] > 0
    assert summary["jobs"]["spaceknow"]["map_files"] >= summary["jobs"]["spaceknow"]["map_tiles"] > 0
    assert {
        "catalog.search",
        "process.to_file",
        "statistics",
        "imagery.search",
        "kraken.dry_run",
        "kraken.release",
        "kraken.download_map",
    } <= set(events)
    # one login per client, one refresh after the forced expiry, one for the resuming client
    assert summary["token_requests"] == 4
    text = out.getvalue()
    assert "emulator-client-secret" not in text
    assert "emulator-password" not in text


def test_cli_entry_point(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [sys.executable, "-m", "eoclient.cli", "demo", "--clock-speed", "300", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["event"] == "demo.done"
    files = sorted(tmp_path.glob("*.tif"))
    assert files
    assert all(f.read_bytes()[:4] in (b"II*\x00", b"MM\x00*") for f in files)
    assert not list(tmp_path.rglob("*.part"))
    assert list((tmp_path / "map").rglob("*.png"))

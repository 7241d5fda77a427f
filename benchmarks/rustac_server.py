"""A real STAC API nobody here wrote: ``rustac serve`` (PyPI's ``rustac``, memory backend), as a process.

The scenario's items are generated here, deterministically (a fixed seed):
Sentinel-2-like scenes over Europe with a footprint polygon, a bbox, the usual
properties and a dozen assets, written as one collection and one
FeatureCollection that ``rustac serve`` loads on startup. The server listens
on a free loopback port; :func:`rustac_process` waits until it answers and
stops it afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.emulator import stop

COLLECTION = "bench-s2"
_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
_START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_SEED = 15


def rustac_executable() -> str | None:
    """The ``rustac`` command next to this interpreter (the wheel's script), else on ``PATH``."""
    beside = Path(sys.executable).with_name("rustac")
    return str(beside) if beside.is_file() else shutil.which("rustac")


def make_items(count: int, *, seed: int = _SEED) -> list[dict[str, Any]]:
    """``count`` plausible STAC items (the same for the same ``count`` and ``seed``)."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        lon, lat = round(rng.uniform(-10, 30), 4), round(rng.uniform(35, 60), 4)
        west, south, east, north = lon, lat, round(lon + 1.4, 4), round(lat + 0.9, 4)
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        when = _START + dt.timedelta(seconds=rng.randrange(5 * 365 * 86400))
        tile = f"{rng.randrange(29, 36)}{rng.choice('TUVW')}{rng.choice('ABCDEFGH')}{rng.choice('KLMNPQ')}"
        scene = f"S2{rng.choice('AB')}_MSIL2A_{when:%Y%m%dT%H%M%S}_T{tile}_{i:05d}"
        base = f"https://data.example.com/sentinel-2-l2a/{tile}/{when:%Y/%m/%d}/{scene}"
        assets: dict[str, Any] = {
            band: {
                "href": f"{base}/{band}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": f"Band {band}",
                "roles": ["data"],
                "gsd": 10 if band in ("B02", "B03", "B04", "B08") else 20,
            }
            for band in _BANDS
        }
        assets["thumbnail"] = {"href": f"{base}/preview.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": [
                    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
                ],
                "id": scene,
                "collection": COLLECTION,
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "bbox": [west, south, east, north],
                "properties": {
                    "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "platform": "sentinel-2a" if scene[2] == "A" else "sentinel-2b",
                    "constellation": "sentinel-2",
                    "instruments": ["msi"],
                    "eo:cloud_cover": round(rng.uniform(0, 100), 2),
                    "s2:mgrs_tile": tile,
                    "proj:epsg": 32600 + int(tile[:2]),
                    "view:sun_elevation": round(rng.uniform(10, 65), 3),
                },
                "assets": assets,
                "links": [],
            }
        )
    return items


def _collection() -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION,
        "description": "Synthetic Sentinel-2 L2A scenes for eoclient's benchmarks",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-10.0, 35.0, 31.4, 60.9]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [],
    }


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"rustac serve exited before it was ready (code {proc.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/collections/{COLLECTION}", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"rustac serve did not answer within {timeout:.0f} s")
        time.sleep(0.1)


@contextmanager
def rustac_process(count: int, *, timeout: float = 60.0) -> Iterator[dict[str, Any]]:
    """Serve ``count`` generated items with ``rustac serve``; yield ``{"url", "collection", "items"}``."""
    exe = rustac_executable()
    if exe is None:
        raise RuntimeError("rustac is not installed: pip install rustac; nox -s bench installs it")
    with tempfile.TemporaryDirectory(prefix="eoclient-rustac-") as tmp:
        collection, items = Path(tmp) / "collection.json", Path(tmp) / "items.json"
        collection.write_text(json.dumps(_collection()))
        items.write_text(json.dumps({"type": "FeatureCollection", "features": make_items(count)}))
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [exe, "serve", "--addr", f"127.0.0.1:{port}", str(collection), str(items)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(url, proc, timeout)
            yield {"url": url, "collection": COLLECTION, "items": count}
        finally:
            stop(proc)

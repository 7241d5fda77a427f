"""One Process API request, as eoclient takes it (a docs-style dict) and as sentinelhub-py builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
Box = tuple[float, float, float, float]
TIME_FROM, TIME_TO = "2024-06-01T00:00:00Z", "2024-06-30T23:59:59Z"


def evalscript(bands: int, sample_type: str) -> str:
    inputs = ", ".join(f'"{b}"' for b in ("B04", "B03", "B02", "B08")[:bands])
    values = ", ".join(f"s.{b}" for b in ("B04", "B03", "B02", "B08")[:bands])
    return (
        "//VERSION=3\n"
        f'function setup() {{ return {{input: [{{bands: [{inputs}]}}], output: {{bands: {bands}, sampleType: "{sample_type}"}}}}; }}\n'  # noqa: E501
        f"function evaluatePixel(s) {{ return [{values}]; }}\n"
    )


def tile(i: int, size: float = 0.05) -> Box:
    """The i-th small box of a grid over Slovenia (in the emulator's Europe area)."""
    x, y = 13.5 + (i % 20) * size, 45.5 + (i // 20) * size
    return (round(x, 6), round(y, 6), round(x + size, 6), round(y + size, 6))


def eoclient_request(bbox: Box, width: int, height: int, script: str) -> dict[str, Any]:
    """The request as a dict pasted from the Sentinel Hub documentation."""
    return {
        "input": {
            "bounds": {"bbox": list(bbox), "properties": {"crs": CRS84}},
            "data": [
                {"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": TIME_FROM, "to": TIME_TO}}}
            ],
        },
        "output": {
            "width": width,
            "height": height,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": script,
    }


def sentinelhub_request(
    info: dict[str, Any],
    config: Any,
    bbox: Box,
    width: int,
    height: int,
    script: str,
    data_folder: Path | None = None,
) -> Any:
    """The same request as a ``SentinelHubRequest``."""
    from sentinelhub import CRS, BBox, MimeType, SentinelHubRequest  # noqa: PLC0415 - optional peer

    from benchmarks.peers import sentinel2_l2a  # noqa: PLC0415

    return SentinelHubRequest(
        evalscript=script,
        input_data=[
            SentinelHubRequest.input_data(
                sentinel2_l2a(info["sentinelhub_url"]), time_interval=(TIME_FROM, TIME_TO)
            )
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox(bbox, crs=CRS.WGS84),
        size=(width, height),
        data_folder=None if data_folder is None else str(data_folder),
        config=config,
    )

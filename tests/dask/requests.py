"""Small Process requests the emulator renders quickly."""

from __future__ import annotations

from typing import Any

SCRIPT = (
    "//VERSION=3\n"
    'function setup() { return {input: [{bands: ["B04", "B03", "B02"]}],'
    ' output: {bands: 3, sampleType: "UINT8"}}; }\n'
    "function evaluatePixel(s) { return [s.B04, s.B03, s.B02]; }\n"
)


def render(i: int, size: int = 32) -> dict[str, Any]:
    """The i-th small TIFF render over Slovenia."""
    x, y = 13.5 + (i % 20) * 0.01, 45.5 + (i // 20) * 0.01
    return {
        "input": {
            "bounds": {"bbox": [x, y, x + 0.01, y + 0.01]},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {
                        "timeRange": {"from": "2024-06-01T00:00:00Z", "to": "2024-06-30T23:59:59Z"}
                    },
                }
            ],
        },
        "output": {
            "width": size,
            "height": size,
            "responses": [{"identifier": "default", "format": {"type": "image/tiff"}}],
        },
        "evalscript": SCRIPT,
    }

"""The Sentinel Hub requests the examples send, written as in Sentinel Hub's documentation.

Plain dicts, so that they read like the API reference; eoclient checks them
before anything is sent. The web apps, the bulk download script and the
batch watcher import these from here (``python examples/x.py`` puts this
folder on ``sys.path``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from eoclient.errors import ValidationError
from eoclient.geo import validate_bbox

TRUE_COLOR: Final = """//VERSION=3
function setup() {
  return {input: ["B02", "B03", "B04"], output: {bands: 3, sampleType: "AUTO"}};
}
function evaluatePixel(s) { return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02]; }
"""

# Batch delivers to your bucket through an IAM role Sentinel Hub may assume (no keys in the request).
ROLE: Final = "arn:aws:iam::123456789012:role/sentinel-hub"


def parse_bbox(text: str, *, field: str = "bbox") -> list[float]:
    """``"min_lon,min_lat,max_lon,max_lat"`` (WGS84) as four checked numbers.

    Raises :class:`eoclient.errors.ValidationError` naming ``field``.
    """
    parts = text.split(",")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise ValidationError(field, f"expected four comma-separated numbers, got {text!r}") from None
    return validate_bbox(numbers, field=field)


def parse_day(text: str, *, field: str = "date") -> dt.date:
    """An ISO date (``2023-06-15``); a :class:`~eoclient.errors.ValidationError` naming ``field`` if not."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"expected a date like 2023-06-15, got {text!r}") from None


def day_range(day: dt.date) -> dict[str, str]:
    """The Process API's ``timeRange`` covering one UTC day."""
    return {"from": f"{day.isoformat()}T00:00:00Z", "to": f"{day.isoformat()}T23:59:59Z"}


def render_request(
    bbox: list[float], day: dt.date, *, size: int = 512, fmt: str = "image/png"
) -> dict[str, Any]:
    """A Process API request: a true-colour image of ``bbox`` on ``day`` (least cloudy scene first)."""
    return {
        "input": {
            "bounds": {"bbox": bbox},
            "data": [
                {
                    "type": "sentinel-2-l2a",
                    "dataFilter": {"timeRange": day_range(day), "mosaickingOrder": "leastCC"},
                }
            ],
        },
        "output": {
            "width": size,
            "height": size,
            "responses": [{"identifier": "default", "format": {"type": fmt}}],
        },
        "evalscript": TRUE_COLOR,
    }


def batch_request(
    bbox: list[float], start: dt.date, end: dt.date, *, bucket: str, description: str
) -> dict[str, Any]:
    """A Batch Process API (v2) request: GeoTIFF tiles of a 60 m tiling grid, delivered to ``bucket``."""
    if end < start:
        raise ValidationError("end", f"{end} is before start {start}")
    time_range = {"from": f"{start.isoformat()}T00:00:00Z", "to": f"{end.isoformat()}T23:59:59Z"}
    return {
        "processRequest": {
            "input": {
                "bounds": {"bbox": bbox},
                "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": time_range}}],
            },
            "output": {"responses": [{"identifier": "default", "format": {"type": "image/tiff"}}]},
            "evalscript": TRUE_COLOR,
        },
        "input": {"type": "tiling-grid", "id": 0, "resolution": 60.0},
        "output": {"type": "raster", "delivery": {"s3": {"url": f"s3://{bucket}", "iamRoleARN": ROLE}}},
        "description": description,
    }


def job_status(job_id: str, status: Any) -> dict[str, Any]:
    """A :class:`~eoclient.jobs.JobStatus` as JSON for an API answer."""
    return {
        "id": job_id,
        "state": status.state.value,
        "status": status.raw,
        "progress": status.progress,
        "error": status.error,
    }

"""``report.html`` of a demo run: the pictures and charts a person would rather look at than read.

The page is self-contained: images by paths relative to the report (it sits in
the demo's output folder beside them), charts as inline SVG, styles inline, no
script and no external address, so it opens from disk in any browser. It shows
the rendered scenes as thumbnails, the area mosaic's quicklook, the Kraken map
tiles stitched into one picture (with numpy and imagecodecs, from the arrays
extra; otherwise the tiles laid out on their grid in HTML), a timeline of each
job's states and the Batch Statistical NDVI as a small chart.

This module only reads what :class:`DemoRecord` holds; the demo fills it.
"""

from __future__ import annotations

import html
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = ["REPORT_NAME", "DemoRecord", "stitch_tiles", "write_report"]

REPORT_NAME: Final = "report.html"
STITCHED_NAME: Final = "kraken-map.png"
# A colour per job state the demo's services report (others are grey).
_STATE_COLOURS: Final = {
    "CREATED": "#9aa5b1",
    "NEW": "#9aa5b1",
    "ANALYSING": "#f0b429",
    "ANALYSIS_DONE": "#de911d",
    "RUNNING": "#2186eb",
    "PROCESSING": "#2186eb",
    "DONE": "#27ab83",
    "FINISHED": "#27ab83",
    "RESOLVED": "#27ab83",
    "FAILED": "#e12d39",
    "STOPPED": "#7b1fa2",
}
_OTHER_COLOUR: Final = "#bcccdc"


@dataclass
class DemoRecord:
    """What the demo made, for the report: paths are relative to ``out_dir``."""

    out_dir: Path
    renders: list[Path] = field(default_factory=list)
    """The rendered scenes' PNG images."""
    quicklook: Path | None = None
    """A PNG of the area that was mosaicked (when the xarray extra is installed)."""
    map_tiles: dict[tuple[int, int, int], Path] = field(default_factory=dict)
    """The Kraken map's PNG tiles by ``(zoom, x, y)``."""
    timelines: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    """Each job's states as ``(seconds since the demo started, state)``, in order."""
    ndvi: list[tuple[str, float]] = field(default_factory=list)
    """Mean NDVI over the Batch Statistical features, per interval start (``YYYY-MM-DD``)."""
    table: Path | None = None
    """The Batch Statistical table (CSV), one row per feature x interval x band x statistic."""
    table_head: list[list[str]] = field(default_factory=list)
    """Its header and first rows, as text, to show on the page."""
    facts: dict[str, str] = field(default_factory=dict)
    """The run's totals (items, files, bytes, time...), shown at the top."""


# -- the Kraken map, in one picture ----------------------------------------------------------------


def _optional(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def stitch_tiles(tiles: dict[tuple[int, int, int], Path], base: Path, target: Path) -> bool:
    """Stitch the PNG tiles of one zoom level (``base / path``) into one PNG at ``target``.

    Needs numpy and imagecodecs (the arrays extra); returns False without them
    or when there is nothing to stitch. Tiles missing from the grid stay
    transparent.
    """
    np, codecs = _optional("numpy"), _optional("imagecodecs")
    if np is None or codecs is None or not tiles:
        return False
    zoom = max(z for z, _, _ in tiles)
    grid = {(x, y): path for (z, x, y), path in tiles.items() if z == zoom}
    xs, ys = [x for x, _ in grid], [y for _, y in grid]
    first = codecs.png_decode((base / next(iter(grid.values()))).read_bytes())
    height, width = first.shape[:2]
    canvas = np.zeros(((max(ys) - min(ys) + 1) * height, (max(xs) - min(xs) + 1) * width, 4), np.uint8)
    for (x, y), path in grid.items():
        tile = codecs.png_decode((base / path).read_bytes())
        if tile.ndim == 2:  # grey: repeat into RGB
            tile = np.stack([tile] * 3, axis=-1)
        if tile.shape[2] == 3:
            tile = np.concatenate([tile, np.full((*tile.shape[:2], 1), 255, tile.dtype)], axis=-1)
        row, col = (y - min(ys)) * height, (x - min(xs)) * width
        canvas[row : row + height, col : col + width] = tile[:height, :width, :4]
    target.write_bytes(codecs.png_encode(canvas))
    return True


# -- inline SVG ------------------------------------------------------------------------------------


def _timeline_svg(timelines: dict[str, list[tuple[float, str]]]) -> str:
    """One row per job: a bar per state from when it was seen until the next one (or the end)."""
    rows = [(name, states) for name, states in timelines.items() if states]
    if not rows:
        return "<p>No job states were recorded.</p>"
    end = max(t for _, states in rows for t, _ in states) or 1.0
    end *= 1.05  # room for the last state's bar
    label_w, plot_w, row_h = 150, 620, 28
    height = row_h * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 10}" height="{height}" '
        f'role="img" aria-label="job states over time">'
    ]
    for i, (name, states) in enumerate(rows):
        y = i * row_h + 4
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{html.escape(name)}</text>')
        for j, (start, state) in enumerate(states):
            stop = states[j + 1][0] if j + 1 < len(states) else end
            x = label_w + start / end * plot_w
            w = max((stop - start) / end * plot_w, 2.0)
            colour = _STATE_COLOURS.get(state, _OTHER_COLOUR)
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{colour}">'
                f"<title>{html.escape(name)}: {html.escape(state)} from {start:.2f} s</title></rect>"
            )
        last_t, last = states[-1]
        parts.append(
            f'<text x="{label_w + last_t / end * plot_w + 4:.1f}" y="{y + 15}" font-size="10" '
            f'fill="#102a43">{html.escape(last)}</text>'
        )
    axis_y = len(rows) * row_h + 12
    for k in range(5):
        t = end * k / 4
        x = label_w + t / end * plot_w
        parts.append(f'<text x="{x:.1f}" y="{axis_y + 12}" font-size="10">{t:.1f} s</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart_svg(points: list[tuple[str, float]]) -> str:
    """Bars of mean NDVI per interval, on a fixed -0.2..1 scale so runs compare."""
    if not points:
        return "<p>No statistics were read (they need the s3 extra).</p>"
    low, high = -0.2, 1.0
    bar_w, gap, plot_h, left, top = 60, 16, 180, 40, 10
    width = left + len(points) * (bar_w + gap) + gap
    zero = top + plot_h * high / (high - low)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + plot_h + 40}" '
        f'role="img" aria-label="mean NDVI per interval">',
        f'<line x1="{left}" y1="{zero:.1f}" x2="{width}" y2="{zero:.1f}" stroke="#486581"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (high - tick) / (high - low)
        parts.append(f'<text x="0" y="{y + 4:.1f}" font-size="10">{tick:.1f}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#d9e2ec"/>')
    for i, (label, value) in enumerate(points):
        x = left + gap + i * (bar_w + gap)
        clipped = min(max(value, low), high)
        y = top + plot_h * (high - max(clipped, 0.0)) / (high - low)
        h = abs(clipped) * plot_h / (high - low)
        parts.append(
            f'<rect x="{x}" y="{y:.1f}" width="{bar_w}" height="{max(h, 1.0):.1f}" fill="#27ab83">'
            f"<title>{html.escape(label)}: {value:.3f}</title></rect>"
        )
        parts.append(f'<text x="{x}" y="{top + plot_h + 16}" font-size="10">{html.escape(label)}</text>')
        parts.append(f'<text x="{x + 4}" y="{y - 3:.1f}" font-size="10">{value:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page --------------------------------------------------------------------------------------


def _src(path: Path) -> str:
    return html.escape(path.as_posix(), quote=True)


def _map_html(record: DemoRecord) -> str:
    if not record.map_tiles:
        return "<p>No map tiles were downloaded.</p>"
    if stitch_tiles(record.map_tiles, record.out_dir, record.out_dir / STITCHED_NAME):
        return f'<img class="map" src="{STITCHED_NAME}" alt="Kraken map, stitched">'
    # Without numpy/imagecodecs: the tiles on their grid, as the map shows them.
    zoom = max(z for z, _, _ in record.map_tiles)
    grid = {(x, y): p for (z, x, y), p in record.map_tiles.items() if z == zoom}
    xs, ys = sorted({x for x, _ in grid}), sorted({y for _, y in grid})
    cells = []
    for y in ys:
        for x in xs:
            path = grid.get((x, y))
            cells.append(f'<img src="{_src(path)}" alt="tile {zoom}/{x}/{y}">' if path else "<span></span>")
    return (
        f'<div class="tiles" style="grid-template-columns: repeat({len(xs)}, 128px)">{"".join(cells)}</div>'
    )


def _table_html(record: DemoRecord) -> str:
    if not record.table_head:
        return ""
    head, *rows = record.table_head
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    link = (
        f'<p>The whole table: <a href="{_src(record.table)}">{_src(record.table)}</a></p>'
        if record.table
        else ""
    )
    return f"<table><tr>{cells}</tr>{body}</table>{link}"


_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #102a43; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: 600; }
.thumbs { display: flex; flex-wrap: wrap; gap: 4px; }
.thumbs img { width: 96px; height: 96px; image-rendering: pixelated; }
.tiles { display: grid; gap: 0; }
.tiles img { width: 128px; height: 128px; display: block; }
img.map, img.quicklook { max-width: 512px; border: 1px solid #bcccdc; background: #f0f4f8; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #d9e2ec; padding: 2px 6px; text-align: left; }
"""


def write_report(record: DemoRecord) -> Path:
    """Write ``report.html`` (and the stitched map, when it can) into ``record.out_dir``; returns its path."""
    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in record.facts.items())
    thumbs = "".join(
        f'<img src="{_src(p)}" alt="{html.escape(p.stem)}" title="{html.escape(p.stem)}">'
        for p in record.renders
    )
    quicklook = (
        f"<h2>The area mosaic</h2><p>A 6 km square rendered as tiles and mosaicked; its quicklook:</p>"
        f'<img class="quicklook" src="{_src(record.quicklook)}" alt="area quicklook">'
        if record.quicklook
        else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>eoclient demo report</title><style>{_STYLE}</style></head>
<body>
<h1>eoclient demo</h1>
<p>Real service jobs against the embedded emulator, through its injected faults.</p>
<dl>{facts}</dl>
<h2>Rendered scenes ({len(record.renders)})</h2>
<p>One image per Catalog scene, rendered concurrently under a processing-unit budget.</p>
<div class="thumbs">{thumbs}</div>
{quicklook}
<h2>The Kraken map ({len(record.map_tiles)} tiles)</h2>
{_map_html(record)}
<h2>Jobs</h2>
<p>Each job's states as the client saw them while watching it.</p>
{_timeline_svg(record.timelines)}
<h2>Batch Statistical: mean NDVI per interval</h2>
{_chart_svg(record.ndvi)}
{_table_html(record)}
</body></html>
"""
    path = record.out_dir / REPORT_NAME
    path.write_text(page, encoding="utf-8")
    return path

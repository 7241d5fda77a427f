"""Reading what the user gives: request files, areas, output paths — refused before anything is sent."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eoclient.cli.failures import CliError

__all__ = ["folder_for_output", "file_for_output", "parse_area", "read_json", "read_requests"]


def read_json(source: str, what: str = "request") -> Any:
    """The JSON document in file ``source`` (``-``: stdin); unreadable or invalid: :class:`CliError`."""
    name = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read the {what} file {name}: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"the {what} file {name} is not valid JSON: {exc}") from None


def read_requests(sources: tuple[str, ...]) -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """Named requests from files, ``-``, JSON arrays and folders of ``*.json``; and whether there are several.

    The name of each is what its output file is called (the file's stem, or
    ``<stem>-<n>`` for the n-th request of an array).
    """
    named: list[tuple[str, dict[str, Any]]] = []
    several = len(sources) > 1
    for source in sources:
        path = Path(source)
        if source != "-" and path.is_dir():
            files = sorted(path.glob("*.json"))
            if not files:
                raise CliError(f"the folder {source} holds no *.json request files")
            several = True
            named.extend((f.stem, _one(read_json(str(f)), str(f))) for f in files)
            continue
        doc = read_json(source)
        stem = "request" if source == "-" else path.stem
        if isinstance(doc, list):
            several = True
            named.extend((f"{stem}-{i}", _one(item, f"{source}[{i}]")) for i, item in enumerate(doc, 1))
        else:
            named.append((stem, _one(doc, source)))
    names = [name for name, _ in named]
    if len(set(names)) != len(names):
        raise CliError("two requests would write the same output file; give files with different names")
    return named, several


def _one(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise CliError(f"{where}: a request must be a JSON object, got {type(doc).__name__}")
    return doc


def folder_for_output(path: Path, option: str = "--out") -> Path:
    """``path`` as a folder to write into (made if missing); an existing file there is refused."""
    if path.exists() and not path.is_dir():
        raise CliError(f"{option}: {path} is an existing file, but a folder is needed here")
    return path


def file_for_output(path: Path, option: str = "--out") -> Path:
    """``path`` as a file to write; an existing folder there, or a missing parent folder, is refused."""
    if path.is_dir():
        raise CliError(f"{option}: {path} is a folder, but a file is needed here (or give several requests)")
    if not path.parent.is_dir():
        raise CliError(f"{option}: the folder {path.parent} does not exist")
    return path


def parse_area(bbox: str | None, geometry: str | None, *, required: bool = False) -> tuple[Any, Any]:
    """``(bbox, geometry)`` from ``--bbox minx,miny,maxx,maxy`` or ``--geometry FILE`` (``-``: stdin)."""
    if bbox is not None and geometry is not None:
        raise CliError("give --bbox or --geometry, not both")
    if required and bbox is None and geometry is None:
        raise CliError("an area is needed: --bbox minx,miny,maxx,maxy or --geometry FILE")
    box = None
    if bbox is not None:
        try:
            box = [float(v) for v in bbox.split(",")]
        except ValueError:
            box = []
        if len(box) != 4:
            raise CliError(f"--bbox: expected four numbers minx,miny,maxx,maxy, got {bbox!r}")
    geo = None
    if geometry is not None:
        geo = read_json(geometry, "geometry")
        if isinstance(geo, dict) and geo.get("type") == "Feature":
            geo = geo.get("geometry")
        if isinstance(geo, dict) and geo.get("type") == "FeatureCollection":
            features = geo.get("features") or []
            if len(features) != 1:
                raise CliError("--geometry: a FeatureCollection must hold exactly one feature")
            geo = features[0].get("geometry")
        if not isinstance(geo, dict):
            raise CliError("--geometry: expected a GeoJSON geometry, Feature or one-feature collection")
    return box, geo

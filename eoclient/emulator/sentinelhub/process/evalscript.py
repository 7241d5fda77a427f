"""Reading an evalscript, as far as an emulator needs to: its outputs, input bands, mosaicking.

The renderer's complaints (a missing ``setup``/``evaluatePixel``, an unknown
``sampleType``) are 400 ``RENDERER_EXCEPTION`` refusals (:func:`script_error`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from eoclient.emulator.core.refusal import Refusal

__all__ = [
    "SAMPLE_BYTES",
    "ScriptOutput",
    "band_kinds",
    "check_outputs",
    "check_script",
    "input_bands",
    "mosaicking_samples",
    "script_error",
    "script_outputs",
]

SAMPLE_BYTES: Final = {"UINT8": 1, "AUTO": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FLOAT32": 4}
"""Bytes per sample of each evalscript ``sampleType`` (the only ones an evalscript may set)."""


def script_error(text: str) -> Refusal:
    """An evalscript failure, as the renderer reports it."""
    return Refusal(400, "RENDERER_EXCEPTION", f"Failed to evaluate script!\n{text}")


@dataclass(frozen=True)
class ScriptOutput:
    """One ``setup().output`` entry."""

    id: str
    bands: int
    sample_type: str


def _group(text: str, start: int) -> str:
    """The bracketed/braced group opening at ``start`` (without the brackets)."""
    opening = text[start]
    closing = {"[": "]", "{": "}"}[opening]
    depth = 0
    for i in range(start, len(text)):
        if text[i] == opening:
            depth += 1
        elif text[i] == closing:
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return text[start + 1 :]


def _objects(text: str) -> list[str]:
    """Top-level ``{...}`` literals in ``text``."""
    out = []
    i = 0
    while (i := text.find("{", i)) >= 0:
        body = _group(text, i)
        out.append(body)
        i += len(body) + 2
    return out


def input_bands(evalscript: str) -> int:
    """Input bands of ``setup()`` (``dataMask`` not counted; 3 if it cannot be read)."""
    match = re.search(r"\binput\s*:\s*\[", evalscript)
    if match is None:
        return 3
    group = _group(evalscript, match.end() - 1)
    lists = re.findall(r"\bbands\s*:\s*\[([^\]]*)\]", group)
    text = " ".join(lists) if lists else group
    names = [a or b for a, b in re.findall(r"\"([^\"]*)\"|'([^']*)'", text)]
    count = len([n for n in names if n and n != "dataMask"])
    return count or 3


def script_outputs(evalscript: str) -> list[ScriptOutput]:
    """``setup().output`` entries (one ``default`` output with 3 bands if it cannot be read)."""
    match = re.search(r"\boutput\s*:\s*([\[{])", evalscript)
    if match is None:
        return [ScriptOutput("default", 3, "AUTO")]
    start = match.start(1)
    group = _group(evalscript, start)
    bodies = [group] if evalscript[start] == "{" else _objects(group)
    outputs = []
    for body in bodies:
        ident = re.search(r"\bid\s*:\s*[\"']([^\"']+)[\"']", body)
        bands = re.search(r"\bbands\s*:\s*(\d+)", body)
        # A literal (``"UINT8"`` or ``SampleType.UINT8``) is checked; a variable cannot be read here.
        sample = re.search(r"\bsampleType\s*:\s*(?:SampleType\s*\.\s*(\w+)|[\"'](\w*)[\"'])", body)
        sample_type = (sample.group(1) or sample.group(2)).upper() if sample else "AUTO"
        name = ident.group(1) if ident else "default"
        if sample_type not in SAMPLE_BYTES:
            raise script_error(
                f"evalscript.js: output {name!r}: unknown sampleType {sample_type!r} "
                f"(one of {', '.join(sorted(SAMPLE_BYTES))})"
            )
        outputs.append(ScriptOutput(name, max(1, int(bands.group(1))) if bands else 1, sample_type))
    return outputs or [ScriptOutput("default", 3, "AUTO")]


def check_script(evalscript: str) -> None:
    """The renderer's complaints about a script without its two functions."""
    for name in ("setup", "evaluatePixel"):
        if not re.search(rf"\bfunction\s+{name}\s*\(|\b{name}\s*=", evalscript):
            raise script_error(f"evalscript.js: ReferenceError: {name} is not defined")


def check_outputs(evalscript: str, wanted: list[tuple[str, str]]) -> dict[str, ScriptOutput]:
    """The script's outputs by id, once it has its two functions and an output for each ``wanted`` response.

    ``wanted`` are the requested ``(identifier, media type)`` pairs; ``userdata`` needs no output.
    """
    check_script(evalscript)
    outputs = {o.id: o for o in script_outputs(evalscript)}
    for ident, _media in wanted:
        if ident != "userdata" and ident not in outputs:
            known = ", ".join(outputs)
            raise script_error(
                f"Output {ident!r} requested but missing from function setup() (outputs: {known})"
            )
    return outputs


def mosaicking_samples(evalscript: str, data: list[dict[str, Any]]) -> int:
    """Data samples per pixel: one per 5 days of the time range for ORBIT/TILE mosaicking, else 1."""
    if not re.search(r"\bmosaicking\s*:\s*(?:Mosaicking\s*\.\s*)?[\"']?(ORBIT|TILE)\b", evalscript):
        return 1
    time_range = (data[0].get("dataFilter") or {}).get("timeRange") or {}
    try:
        start = datetime.fromisoformat(time_range["from"])
        end = datetime.fromisoformat(time_range["to"])
    except (KeyError, TypeError, ValueError):
        return 1
    return max(1, math.ceil((end - start).total_seconds() / (5 * 86400)))


_ND_RE: Final = re.compile(
    r"\bindex\s*\(|\(\s*([\w.]+)\s*-\s*([\w.]+)\s*\)\s*/\s*\(\s*\1\s*\+\s*\2\s*\)", re.IGNORECASE
)
_INDEX_ID_RE: Final = re.compile(r"nd[a-z]*i|index", re.IGNORECASE)


def _returned(evalscript: str, ident: str) -> list[str] | None:
    """The expressions ``evaluatePixel`` returns for output ``ident`` (``None`` if not readable)."""
    match = re.search(r"\bfunction\s+evaluatePixel\s*\([^)]*\)\s*\{", evalscript)
    body = _group(evalscript, match.end() - 1) if match else evalscript
    found = re.search(rf"[\"']?\b{re.escape(ident)}\b[\"']?\s*:\s*\[", body)
    if found is None and ident == "default":
        found = re.search(r"\breturn\s*\[", body)
    if found is None:
        return None
    items, depth, current = [], 0, ""
    for ch in _group(body, found.end() - 1):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += ch
    return [*items, current.strip()]


def band_kinds(evalscript: str, output: ScriptOutput) -> tuple[str, ...]:
    """What each band of ``output`` holds: ``"reflectance"``, ``"index"`` or ``"mask"``.

    A heuristic on the script's text: an output named ``dataMask``, or a last
    returned element that mentions ``dataMask``, is a mask; an output named like
    an index (``ndvi``, ``ndwi``, ``index``), or the one-band output of a
    script that computes a normalized difference, holds an index.
    """
    if output.id == "dataMask":
        return ("mask",) * output.bands
    returned = _returned(evalscript, output.id) or []
    masked = output.bands >= 1 and len(returned) == output.bands and "dataMask" in returned[-1]
    values = output.bands - (1 if masked else 0)
    index = bool(_INDEX_ID_RE.search(output.id)) or (values == 1 and _ND_RE.search(evalscript) is not None)
    kinds = ("index" if index else "reflectance",) * values
    return (*kinds, "mask") if masked else kinds

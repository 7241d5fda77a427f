"""Validate request bodies the client sent against the official Sentinel Hub OpenAPI document.

The document lives outside the project (``../shared/reference/sentinelhub-openapi.yaml``
relative to the repository root, ``/work/shared/...``, or ``$EOCLIENT_OPENAPI``); tests that need it
are skipped, with the reason printed, when it is absent. Its paths are written
``/process/v1``, ``/catalog/v1/search``...; the live service (and the emulator)
serve them under ``/api/v1/...``: :data:`LIVE_PREFIXES` maps one onto the other.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = [
    os.environ.get("EOCLIENT_OPENAPI", ""),
    str(REPO.parent / "shared/reference/sentinelhub-openapi.yaml"),
    "/work/shared/reference/sentinelhub-openapi.yaml",  # the team's machines
]
SPEC_PATH = next((Path(c) for c in _CANDIDATES if c and Path(c).is_file()), Path(_CANDIDATES[1]))

# live prefix -> spec prefix (longest first)
LIVE_PREFIXES: list[tuple[str, str]] = [
    ("/api/v1/statistics/batch", "/statistics/batch/v1"),
    ("/api/v1/statistics", "/statistics/v1"),
    ("/api/v1/catalog/1.0.0", "/catalog/v1"),
    ("/api/v1/async/process", "/async/v1/process"),
    ("/api/v1/process", "/process/v1"),
    ("/api/v2/batch/process", "/batch/v2/process"),
    ("/api/v2/batch/tilinggrids", "/batch/v2/tilinggrids"),
    ("/api/v1/byoc", "/byoc/v1"),
]


def require_spec() -> None:
    """Skip the calling test, saying why, when the OpenAPI document is not there."""
    if not SPEC_PATH.is_file():
        reason = f"OpenAPI document not found at {SPEC_PATH} (set EOCLIENT_OPENAPI to its path)"
        print(f"SKIP contract: {reason}")
        pytest.skip(reason)


@functools.cache
def _spec() -> dict[str, Any]:
    import yaml

    with SPEC_PATH.open("rb") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    _open_placeholder_enums(data)
    return data


def _open_placeholder_enums(node: Any) -> None:
    """An enum listing a placeholder such as ``<identifier>`` (the output response id, which is
    any id the evalscript defines, as its own description says) means "any string"."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and any(isinstance(v, str) and v.startswith("<") for v in enum):
            del node["enum"]
        for value in node.values():
            _open_placeholder_enums(value)
    elif isinstance(node, list):
        for value in node:
            _open_placeholder_enums(value)


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for spec_path in _spec()["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(spec_path)) + "$"
        out.append((re.compile(regex), spec_path))
    # Literal segments beat templated ones (``/tiles/{id}/files`` before ``/tiles/{id}``).
    out.sort(key=lambda item: item[1].count("{"))
    return out


def spec_path_for(live_path: str) -> str:
    """The OpenAPI path template matching a live URL path."""
    for live, spec in LIVE_PREFIXES:
        if live_path == live or live_path.startswith(live + "/"):
            candidate = spec + live_path[len(live) :]
            break
    else:
        raise AssertionError(f"no OpenAPI prefix known for {live_path}")
    for pattern, template in _path_patterns():
        if pattern.match(candidate):
            return template
    raise AssertionError(f"{live_path} (as {candidate}) matches no path of the OpenAPI document")


def request_schema(method: str, live_path: str, content_type: str = "application/json") -> dict[str, Any]:
    """The JSON schema of the request body of an operation, as a ``$ref`` into the document."""
    template = spec_path_for(live_path)
    operation = _spec()["paths"][template].get(method.lower())
    assert operation is not None, f"{method} {template} is not in the OpenAPI document"
    content = operation.get("requestBody", {}).get("content", {})
    assert content_type in content, f"{method} {template} takes no {content_type} body"
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", template, method.lower(), "requestBody", "content", content_type, "schema")
    )
    return {"$ref": f"#/{pointer}"}


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12, except that ``oneOf`` means ``anyOf``.

    The document's ``oneOf`` lists overlap (a BYOC dataset's ``type`` is any
    string, so ``{"type": "sentinel-2-l2a"}`` matches two branches); read
    strictly, no standard dataset would validate. Every branch is still checked.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    return jsonschema.validators.extend(base, {"oneOf": base.VALIDATORS["anyOf"]})


@functools.cache
def _validator(method: str, template: str) -> Any:
    """One compiled validator per operation (building one costs more than validating)."""
    schema = {**_spec(), **request_schema(method, template)}
    schema.pop("openapi", None)
    return _validator_class()(schema)


def validate_request(method: str, live_path: str, body: bytes | Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the operation's request schema."""
    instance = msgspec.json.decode(body) if isinstance(body, bytes | bytearray) else body
    _validator(method.upper(), _live_template(live_path)).validate(instance)


def _live_template(live_path: str) -> str:
    """A live path that :func:`request_schema` maps to the same OpenAPI operation."""
    template = spec_path_for(live_path)
    for live, spec in LIVE_PREFIXES:
        if template == spec or template.startswith(spec + "/"):
            return live + template[len(spec) :]
    return live_path


def validate_recorded(records: Any, *, path_prefix: str) -> int:
    """Validate every recorded JSON request (emulator ``emu.requests``) under ``path_prefix``.

    Returns how many bodies were checked, so a test can assert it checked some.
    """
    checked = 0
    for record in records:
        if record.body is None or not record.path.startswith(path_prefix):
            continue
        validate_request(record.method, record.path, record.body)
        checked += 1
    return checked

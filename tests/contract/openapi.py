"""Check requests the client sent against the official Sentinel Hub OpenAPI document.

Bodies (:func:`validate_request`) and everything else an operation declares
(:func:`validate_parameters`): the path parameters, the query parameters (names,
types, enums, ``required``, and how each is written: a comma-separated list for
``explode: false``, repeated keys for ``explode: true``; a parameter the document
does not list is an error), the header parameters, and an ``Accept`` header
against the media types the operation answers with.

The document lives outside the project (``../shared/reference/sentinelhub-openapi.yaml``
relative to the repository root, ``/work/shared/...``, or ``$EOCLIENT_OPENAPI``); tests that need it
are skipped, with the reason printed, when it is absent. Its paths are written
``/process/v1``, ``/catalog/v1/search``...; the live service (and the emulator)
serve them under ``/api/v1/...``: :data:`LIVE_PREFIXES` maps one onto the other.
Where the document is wrong, the correction and its reason are in
:mod:`tests.contract.errata`, and only there.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import msgspec
import pytest

from tests.contract.errata import (
    BODY_ERRATA,
    LINK_PARAMETERS,
    MULTI_SEGMENT_PARAMETERS,
    ONE_OF_MEANS_ANY_OF,
    PLACEHOLDER_ENUM,
    QUERY_ERRATA,
    SLASHED_PATHS,
)

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
    ("/api/v1/zarr", "/zarr/v1"),
    ("/api/v1/metadata", "/api/v1/metadata"),
    ("/api/v1/dataimport", "/api/v1/dataimport"),  # the document has these under their live paths
]


def require_spec() -> None:
    """Skip the calling test, saying why, when the OpenAPI document is not there."""
    if not SPEC_PATH.is_file():
        reason = f"OpenAPI document not found at {SPEC_PATH} (set EOCLIENT_OPENAPI to its path)"
        print(f"SKIP contract: {reason}")
        pytest.skip(reason)


@functools.cache
def published() -> dict[str, Any]:
    """The document exactly as published (treat as read-only)."""
    import yaml

    with SPEC_PATH.open("rb") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict)
    return data


@functools.cache
def _spec() -> dict[str, Any]:
    """The document with its placeholder enums dropped (:data:`errata.PLACEHOLDER_ENUM`)."""
    data = copy.deepcopy(published())
    dropped = _drop_placeholder_enums(data)
    assert dropped, "no placeholder enum left in the document: delete errata.PLACEHOLDER_ENUM"
    return data


def _drop_placeholder_enums(node: Any) -> int:
    dropped = 0
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, list) and any(isinstance(v, str) and PLACEHOLDER_ENUM.match(v) for v in enum):
            del node["enum"]
            dropped += 1
        for value in node.values():
            dropped += _drop_placeholder_enums(value)
    elif isinstance(node, list):
        for value in node:
            dropped += _drop_placeholder_enums(value)
    return dropped


@functools.cache
def _corrected(errata: frozenset[str]) -> dict[str, Any]:
    """The document with the named body errata applied."""
    spec = copy.deepcopy(_spec())
    for erratum in BODY_ERRATA:
        if erratum.name in errata:
            erratum.correct(spec)
    return spec


def _path_group(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"(?P<{name}>{'.+' if name in MULTI_SEGMENT_PARAMETERS else '[^/]+'})"


@functools.cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for spec_path in _spec()["paths"]:
        regex = "^" + re.sub(r"\\\{([^}]+)\\\}", _path_group, re.escape(spec_path)) + "$"
        out.append((re.compile(regex), spec_path))
    # Literal segments beat templated ones (``/tiles/{id}/files`` before ``/tiles/{id}``).
    out.sort(key=lambda item: item[1].count("{"))
    return out


def _as_spec_path(live_path: str) -> str | None:
    for live, spec in LIVE_PREFIXES:
        if live_path == live or live_path.startswith(live + "/"):
            path = spec + live_path[len(live) :]
            return path[:-1] if path.endswith("/") and path[:-1] in SLASHED_PATHS else path
    return None


def spec_path_for(live_path: str) -> str:
    """The OpenAPI path template matching a live URL path."""
    candidate = _as_spec_path(live_path)
    if candidate is None:
        raise AssertionError(f"no OpenAPI prefix known for {live_path}")
    for pattern, template in _path_patterns():
        if pattern.match(candidate):
            return template
    raise AssertionError(f"{live_path} (as {candidate}) matches no path of the OpenAPI document")


def _path_values(live_path: str, template: str) -> dict[str, str]:
    candidate = _as_spec_path(live_path) or live_path
    for pattern, name in _path_patterns():
        if name == template:
            match = pattern.match(candidate)
            assert match is not None
            return match.groupdict()
    raise AssertionError(template)


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
    """Draft 2020-12, with ``oneOf`` read as ``anyOf`` (:data:`errata.ONE_OF_MEANS_ANY_OF`)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    if not ONE_OF_MEANS_ANY_OF:
        return base
    return jsonschema.validators.extend(base, {"oneOf": base.VALIDATORS["anyOf"]})


def validator_for(schema: Mapping[str, Any], spec: dict[str, Any] | None = None) -> Any:
    """A validator of ``schema`` whose ``$ref`` resolve in ``spec`` (default: the document)."""
    root = {**(spec if spec is not None else _spec()), **schema}
    root.pop("openapi", None)
    cls = _validator_class()
    return cls(root, format_checker=cls.FORMAT_CHECKER)


@functools.cache
def _body_validator(method: str, template: str, errata: frozenset[str]) -> Any:
    """One compiled validator per operation (building one costs more than validating)."""
    spec = _corrected(errata) if errata else _spec()
    return validator_for(request_schema(method, _live_template(template)), spec)


def validate_request(method: str, live_path: str, body: bytes | Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the operation's request schema.

    A body a :data:`errata.BODY_ERRATA` entry concerns is checked against the
    corrected document, once the published one was seen to reject it.
    """
    import jsonschema

    instance = msgspec.json.decode(body) if isinstance(body, bytes | bytearray) else body
    method = method.upper()
    template = spec_path_for(live_path)
    errata = frozenset(e.name for e in BODY_ERRATA if e.applies(method, template, instance))
    if errata:
        try:
            _body_validator(method, template, frozenset()).validate(instance)
        except jsonschema.ValidationError:
            pass  # the correction is needed...
        else:
            raise AssertionError(
                f"the document accepts this body as published: delete errata {sorted(errata)}"
            )
    _body_validator(method, template, errata).validate(instance)  # ...and enough


def _live_template(template: str) -> str:
    """A live path that :func:`request_schema` maps to the OpenAPI path ``template``."""
    for live, spec in LIVE_PREFIXES:
        if template == spec or template.startswith(spec + "/"):
            return live + template[len(spec) :]
    raise AssertionError(template)


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


# -- parameters ----------------------------------------------------------------------------


def _deref(node: Any) -> Any:
    """Follow ``$ref`` (``#/components/...``) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = _spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operation(method: str, template: str) -> dict[str, Any]:
    """The operation object of ``method`` on the path ``template``."""
    op = _spec()["paths"][template].get(method.lower())
    assert op is not None, f"{method} {template} is not an operation of the OpenAPI document"
    assert isinstance(op, dict)
    return op


def parameters(method: str, template: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The operation's parameters (path-level ones included), by ``(in, name)``."""
    item = _spec()["paths"][template]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for param in [*item.get("parameters", []), *operation(method, template).get("parameters", [])]:
        resolved = _deref(param)
        key = (resolved["in"], resolved["name"].lower() if resolved["in"] == "header" else resolved["name"])
        found[key] = resolved
    return found


class ParameterError(AssertionError):
    """A request's path, query or headers do not fit the operation as the document declares it."""


def validate_parameters(
    method: str, live_path: str, query: str = "", headers: Mapping[str, str] | None = None
) -> None:
    """Raise :class:`ParameterError` unless the path, query and headers fit the operation.

    ``query`` as the emulator records it (``request.query_string``: decoded,
    except ``%26``, ``%3D``, ``%2B`` and the like that would change its
    structure); ``headers`` as sent.
    """
    method = method.upper()
    template = spec_path_for(live_path)
    declared = parameters(method, template)
    where = f"{method} {template}"
    for name, value in _path_values(live_path, template).items():
        param = declared.get(("path", name))
        if param is not None:
            _validate(
                where,
                f"path parameter {name}",
                _scalar(where, name, unquote(value), param["schema"]),
                param["schema"],
            )
    _validate_query(method, template, query, declared)
    _validate_headers(method, template, headers or {}, declared)


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def _validate_query(method: str, template: str, query: str, declared: Mapping[tuple[str, str], Any]) -> None:
    where = f"{method} {template}"
    given: dict[str, list[str]] = {}
    for name, value in _query_pairs(query):
        given.setdefault(name, []).append(value)
    listed = {name for (kind, name) in declared if kind == "query"}
    allowed = listed | LINK_PARAMETERS.get(template, frozenset())
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ParameterError(
            f"{where}: query parameter(s) {unknown} are not in the document (it lists {sorted(listed)})"
        )
    for (kind, name), param in declared.items():
        if kind != "query":
            continue
        if name not in given:
            if param.get("required"):
                raise ParameterError(f"{where}: the required query parameter {name!r} is missing")
            continue
        value, schema = _read_query(method, template, param, given[name])
        _validate(where, f"query parameter {name}", value, schema)


def _read_query(method: str, template: str, param: Mapping[str, Any], values: list[str]) -> tuple[Any, Any]:
    """The JSON value of a query parameter, read the way its ``style``/``explode`` say it is written."""
    name = param["name"]
    where = f"{method} {template}: query parameter {name!r}"
    how = QUERY_ERRATA.get((method, template, name), ("", ""))[0]
    if "content" in param:
        ((_, media),) = param["content"].items()
        schema = media["schema"]
        if how != "plain":
            _once(where, values)
            return _json(where, values[0]), schema
    else:
        schema = param["schema"]
    if how == "json":
        _once(where, values)
        return _json(where, values[0]), schema
    style = param.get("style", "form")
    explode = param.get("explode", style == "form")
    if style != "form":
        raise ParameterError(f"{where}: style {style!r} is not read by this check")
    resolved = _deref(schema)
    if resolved.get("type") == "array":
        if explode:
            texts = values  # name=a&name=b
        else:
            if len(values) > 1:
                raise ParameterError(
                    f"{where}: given {len(values)} times, but it is one comma-separated list"
                )
            texts = values[0].split(",")
        items = resolved.get("items", {})
        return [_scalar(where, name, text, items) for text in texts], schema
    _once(where, values)
    if resolved.get("type") == "object" or "oneOf" in resolved:
        raise ParameterError(f"{where}: an object in style form cannot be read (is an erratum missing?)")
    return _scalar(where, name, values[0], schema), schema


def _once(where: str, values: list[str]) -> None:
    if len(values) != 1:
        raise ParameterError(f"{where}: given {len(values)} times")


def _json(where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ParameterError(f"{where}: {text!r} is not JSON") from None


def _scalar(where: str, name: str, text: str, schema: Any) -> Any:
    """``text`` as the JSON scalar the schema's type asks for."""
    kind = _deref(schema).get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            raise ParameterError(f"{where}: {name}={text!r} is not an integer")
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ParameterError(f"{where}: {name}={text!r} is not a number") from None
        if not math.isfinite(number):
            raise ParameterError(f"{where}: {name}={text!r} is not a finite number")
        return int(number) if re.fullmatch(r"-?\d+", text) else number
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ParameterError(f"{where}: {name}={text!r} is not true or false")
        return text == "true"
    return text


def _validate(where: str, what: str, value: Any, schema: Any) -> None:
    import jsonschema

    try:
        _schema_validator(json.dumps(schema, sort_keys=True)).validate(value)
    except jsonschema.ValidationError as exc:
        raise ParameterError(f"{where}: {what} = {value!r}: {exc.message}") from None


@functools.cache
def _schema_validator(schema: str) -> Any:
    return validator_for(json.loads(schema))


def _validate_headers(
    method: str, template: str, headers: Mapping[str, str], declared: Mapping[tuple[str, str], Any]
) -> None:
    where = f"{method} {template}"
    sent = {k.lower(): v for k, v in headers.items()}
    for (kind, name), param in declared.items():
        if kind != "header":
            continue
        if name not in sent:
            if param.get("required"):
                raise ParameterError(f"{where}: the required header {param['name']!r} is missing")
            continue
        schema = param.get("schema", {})
        _validate(where, f"header {param['name']}", _scalar(where, name, sent[name], schema), schema)
    accept = sent.get("accept")
    if accept is not None:
        _validate_accept(where, accept, operation(method, template))


def _validate_accept(where: str, accept: str, op: Mapping[str, Any]) -> None:
    """Every media type ``Accept`` asks for is one the operation answers a success with."""
    answered = {
        media.lower()
        for status, response in op.get("responses", {}).items()
        if str(status).startswith("2")
        for media in (_deref(response).get("content") or {})
    }
    if not answered:
        return
    for entry in accept.split(","):
        media = entry.split(";", 1)[0].strip().lower()
        kind = media.split("/", 1)[0]
        if (
            media in ("*/*", "")
            or media in answered
            or (media.endswith("/*") and any(a.startswith(f"{kind}/") for a in answered))
        ):
            continue
        raise ParameterError(f"{where}: Accept {media!r} is not among the success answers {sorted(answered)}")


def documented(records: Iterable[Any]) -> list[Any]:
    """The recorded requests to a path the document covers (its families; not tokens, not legacy batch)."""
    return [r for r in records if _as_spec_path(r.path) is not None]


def validate_recorded_parameters(records: Iterable[Any]) -> int:
    """:func:`validate_parameters` for every recorded request the document covers; how many."""
    checked = 0
    for record in documented(records):
        validate_parameters(record.method, record.path, record.query, record.headers)
        checked += 1
    return checked

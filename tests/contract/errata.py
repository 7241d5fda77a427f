"""Where the official Sentinel Hub OpenAPI document is wrong: every correction, with its reason, here only.

The contract tests check what eoclient sends against the document as
published. Where the document contradicts itself, or the service's own
documentation, they apply a correction listed here, never anywhere else.
Each correction is narrow: a body correction applies only to a body it
concerns, and only after the published document was seen to reject that body
(so a correction that is no longer needed fails loudly and can be deleted).

* :data:`ONE_OF_MEANS_ANY_OF` and :data:`PLACEHOLDER_ENUM`: applied to the whole document.
* :data:`BODY_ERRATA`: request-body corrections, chosen per body.
* :data:`QUERY_ERRATA`: how a query parameter is really written.
* :data:`LINK_PARAMETERS`: query parameters only the service's own ``next`` links carry.
* :data:`SLASHED_PATHS`: paths also served with a trailing slash.
* :data:`MULTI_SEGMENT_PARAMETERS`: path parameters that hold a path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BODY_ERRATA",
    "LINK_PARAMETERS",
    "MULTI_SEGMENT_PARAMETERS",
    "ONE_OF_MEANS_ANY_OF",
    "PLACEHOLDER_ENUM",
    "QUERY_ERRATA",
    "SLASHED_PATHS",
    "BodyErratum",
]

ONE_OF_MEANS_ANY_OF: Final = True
"""Every ``oneOf`` of the document is read as ``anyOf`` (every branch is still checked).

The document's ``oneOf`` lists overlap: a BYOC dataset's ``type`` is any
string, so ``{"type": "sentinel-2-l2a"}`` matches both the standard and the
BYOC input branch, and a CQL2 property reference is both a character and a
numeric expression. Read strictly ("exactly one"), no standard dataset and no
filter would validate.
"""

PLACEHOLDER_ENUM: Final = re.compile(r"^<[A-Za-z]+>$")
"""An ``enum`` value such as ``<identifier>`` is a placeholder, not a value: the enum is dropped.

``output.responses[].identifier`` is ``enum: [<identifier>, userdata]`` while
its own description says it is any ``output.id`` the evalscript's ``setup()``
defines, or ``userdata``. Read literally, only the string ``"<identifier>"``
would be allowed, and no request with a ``"default"`` output would be valid.
(Only such placeholders: the CQL2 operator enum ``["<", "<=", "<>", ...]`` stays.)
"""


@dataclass(frozen=True)
class BodyErratum:
    """A correction of a request-body schema, applied to the bodies :attr:`applies` picks."""

    name: str
    reason: str
    applies: Callable[[str, str, Any], bool]  # (method, spec path template, body) -> bool
    correct: Callable[[dict[str, Any]], None]  # edits a copy of the whole document in place


def _drop_required(schema: str, field: str) -> Callable[[dict[str, Any]], None]:
    def correct(spec: dict[str, Any]) -> None:
        required = spec["components"]["schemas"][schema]["required"]
        assert field in required, f"{schema} no longer requires {field}: delete this erratum"
        required.remove(field)

    return correct


def _raster_without_group(method: str, template: str, body: Any) -> bool:
    output = body.get("output") if isinstance(body, dict) else None
    return (
        method == "POST"
        and template == "/batch/v2/process"
        and isinstance(output, dict)
        and output.get("type") == "raster"
        and "group" not in output
    )


def _geopackage_without_bounds(method: str, template: str, body: Any) -> bool:
    if method != "POST" or template != "/batch/v2/process" or not isinstance(body, dict):
        return False
    source = body.get("input")
    process_input = (body.get("processRequest") or {}).get("input") or {}
    return isinstance(source, dict) and source.get("type") == "geopackage" and "bounds" not in process_input


def _cql2_ops(expr: Any) -> set[str]:
    if not isinstance(expr, dict):
        return set()
    ops = {expr["op"]} if isinstance(expr.get("op"), str) else set()
    for arg in expr.get("args") or []:
        ops |= _cql2_ops(arg)
    return ops


def _basic_cql2_filter(method: str, template: str, body: Any) -> bool:
    return (
        method == "POST"
        and template == "/catalog/v1/search"
        and isinstance(body, dict)
        and bool(_cql2_ops(body.get("filter")) & {"or", "isNull"})
    )


def _add_or_and_is_null(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    branches = schemas["Cql2BooleanExpression"]["oneOf"]
    refs = {branch.get("$ref", "").rsplit("/", 1)[-1] for branch in branches}
    assert not {"Cql2OrExpression", "Cql2IsNullPredicate"} & refs, "the document has them now: delete this"
    schemas["Cql2OrExpression"] = {
        **schemas["Cql2AndExpression"],
        "properties": {
            **schemas["Cql2AndExpression"]["properties"],
            "op": {"type": "string", "enum": ["or"]},
        },
    }
    schemas["Cql2IsNullPredicate"] = {
        "type": "object",
        "required": ["op", "args"],
        "properties": {
            "op": {"type": "string", "enum": ["isNull"]},
            "args": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1,
                "items": {"$ref": "#/components/schemas/Cql2PropertyRef"},
            },
        },
    }
    branches.append({"$ref": "#/components/schemas/Cql2OrExpression"})
    branches.append({"$ref": "#/components/schemas/Cql2IsNullPredicate"})


BODY_ERRATA: Final = (
    BodyErratum(
        "raster-group",
        "BatchV2RasterOutput lists `group` (a Zarr group) as required, yet a raster output has no "
        "group: the schema does not even define the property, and the Batch v2 documentation's own "
        "raster examples send none.",
        _raster_without_group,
        _drop_required("BatchV2RasterOutput", "group"),
    ),
    BodyErratum(
        "geopackage-bounds",
        "ProcessRequestInputForBatchV2 requires `bounds`, although the description of those bounds "
        "(ProcessRequestInputBoundsForBatchV2) says they are not required when the input is a "
        "GeoPackage: every feature in it is processed.",
        _geopackage_without_bounds,
        _drop_required("ProcessRequestInputForBatchV2", "bounds"),
    ),
    BodyErratum(
        "cql2-or-isnull",
        "Cql2BooleanExpression allows only and, not, the comparisons and between, but the catalog "
        "declares Basic CQL2 (the document's own landing-page and conformance examples list "
        ".../conf/basic-cql2), and Basic CQL2 is and, or, not, the comparisons and isNull.",
        _basic_cql2_filter,
        _add_or_and_is_null,
    ),
)
"""Request-body corrections (the batch legacy API's paths are not in the document at all)."""


QUERY_ERRATA: Final[dict[tuple[str, str, str], tuple[str, str]]] = {
    ("GET", "/catalog/v1/search", "intersects"): (
        "json",
        "The parameter is a GeoJSON object with style form, explode false, which by OpenAPI's rules "
        "would be written `type,Polygon,coordinates,...`: no STAC server reads that. The STAC API "
        "item search takes `intersects` in a GET as GeoJSON text, as the service does.",
    ),
    ("GET", "/byoc/v1/collections/{collectionId}/tiles", "status"): (
        "plain",
        '`status` is declared with `content: application/json`, i.e. JSON text (`"INGESTED"`, '
        "quotes included), unlike every other status filter of the document (a plain schema), and "
        "the BYOC API reference renders it as a plain string (BYOCTileStatus): `status=INGESTED`.",
    ),
}
"""``(method, path template, name)`` -> (how the value is really written, reason)."""


LINK_PARAMETERS: Final[dict[str, frozenset[str]]] = {
    template: frozenset({"next"})
    for template in (
        "/catalog/v1/search",
        "/catalog/v1/collections/{collectionId}/items",
        "/catalog/v1/collections",
    )
}
"""Parameters the catalog's ``next`` links carry although the document lists none such.

Paging is by ``next`` link, and the links carry a ``next`` token: the
document's own example answers link to ``.../search?...&next=1`` and
``.../items?limit=1&next=1``, yet ``next`` is not among the parameters. The
client never writes it; it only follows the link the service gave (which is
why it is allowed only on a request that follows one).
"""


SLASHED_PATHS: Final = frozenset({"/catalog/v1"})
"""Paths whose URL, as the document itself links to it, ends with a slash.

The catalog's landing page is the path ``/catalog/v1``, but the document's own
example landing page gives its ``root`` and ``self`` links as
``https://services.sentinel-hub.com/catalog/v1/``, and the live root is
``.../api/v1/catalog/1.0.0/``: the client asks for that URL.
"""


MULTI_SEGMENT_PARAMETERS: Final = frozenset({"file"})
"""Path parameters whose value spans several segments (``a/b.tif``), unescaped.

Data Import's ``{file}`` is "the file with full path as returned by the 'List
delivery files' endpoint", and that endpoint's own example lists
``IMG_PHR1A_P_001/IMG_..._R1C1.J2W``: a file in a folder. Read as a single
segment, no such file could be fetched; the client sends the path as listed.
"""

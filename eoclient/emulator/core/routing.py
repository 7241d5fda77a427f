"""Each route's declared contract, checked in one place: the query parameters and body fields it takes.

A service module registers every route through :func:`add_route` and says
there what the real service accepts::

    add_route(app, "GET", "/api/v2/batch/tilinggrids", _list, query=("count", "viewtoken"))
    add_route(app, "POST", "/credits/check-area", _check_area,
              fields=("sceneIds", "geojson", "userId", "creditsTier", "costFreeAllocation"),
              required_fields=("sceneIds", "geojson"))

:func:`contract_middleware` (the innermost middleware, after the bearer
check) then refuses, with a 400 in the service's error shape, before the
handler runs:

* a query parameter the route does not list (the OpenAPI document lists, per
  operation, the only ones the service takes), or a required one missing;
* when ``fields`` is given (SpaceKnow's flat JSON bodies): a top-level body
  field the reference does not list, or a required one missing or null.

The same middleware answers every :class:`~eoclient.emulator.core.refusal.Refusal`
a handler raises. The shape is the route's ``shape`` (the Catalog's STAC
exception) or the service's own: Sentinel Hub's ``{"error": {..., "errors":
[{"parameter", "invalidValue", "violation"}]}}``, SpaceKnow's ``{"error":
"BAD-REQUEST", "errorMessage"}``. Routes added without :func:`add_route` (a
user's own test routes) are not checked, but their refusals are answered too.

Where the service tells operations apart by a query key on one method and
path (S3's ``POST /<bucket>/<key>?uploads`` and ``?uploadId=``), each is
added with ``select=<key>``: the middleware then runs the first such
operation whose key the request carries, with its own contract, and the
route added without ``select`` (if any) for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import AbstractRoute

from eoclient.emulator.core.refusal import SHAPES, ErrorShape, Refusal, invalid
from eoclient.emulator.core.state import SERVICE_KEY

__all__ = [
    "CONTRACTS_KEY",
    "Contract",
    "Violation",
    "add_route",
    "contract_middleware",
    "contract_of",
]

_DRAIN_CHUNK: Final = 1 << 16


@dataclass(frozen=True)
class Violation:
    """What is wrong with a request: the parameter or field, the value sent, and why."""

    parameter: str
    value: Any
    text: str

    @property
    def message(self) -> str:
        """``"<parameter>: <text>"``."""
        return f"{self.parameter}: {self.text}"

    def refusal(self) -> Refusal:
        """The 400 the service answers it with (rendered in the route's shape)."""
        return invalid(self.parameter, self.value, self.text)


@dataclass(frozen=True)
class Contract:
    """What one route accepts.

    ``query``: every query parameter it takes (``required_query`` included);
    ``fields``: every top-level JSON body field, ``None`` when the handler
    checks the body itself; ``shape``: how the route renders a
    :class:`Refusal`, ``None`` for the service's own shape.
    """

    query: frozenset[str] = frozenset()
    required_query: frozenset[str] = frozenset()
    fields: frozenset[str] | None = None
    required_fields: frozenset[str] = frozenset()
    shape: ErrorShape | None = None
    selected: tuple[tuple[str, Handler, Contract], ...] = ()

    def select(self, query: Iterable[str], handler: Handler) -> tuple[Handler, Contract]:
        """The handler and contract that these query keys select (by default ``handler`` and self)."""
        keys = set(query)
        for key, chosen, contract in self.selected:
            if key in keys:
                return chosen, contract
        return handler, self

    def violations(self, query: Iterable[tuple[str, str]], body: Any) -> Violation | None:
        """The first thing this contract refuses in ``query`` (name, value pairs) and ``body``."""
        pairs = list(query)
        seen: set[str] = set()
        for name, value in pairs:
            if name not in self.query:
                allowed = ", ".join(sorted(self.query)) or "none"
                return Violation(name, value, f"unknown query parameter (this operation takes: {allowed})")
            if name in seen:  # every documented parameter is one value (lists are comma-separated)
                return Violation(name, value, "query parameter given more than once")
            seen.add(name)
        missing = sorted(self.required_query - {name for name, _ in pairs})
        if missing:
            return Violation(missing[0], None, "required query parameter is missing")
        if self.fields is None or not isinstance(body, dict):
            return None
        for name in body:
            if name not in self.fields:
                allowed = ", ".join(sorted(self.fields)) or "none"
                return Violation(name, body[name], f"unknown field (this request takes: {allowed})")
        absent = sorted(name for name in self.required_fields if body.get(name) is None)
        if absent:
            return Violation(absent[0], body.get(absent[0]), "field required")
        return None


CONTRACTS_KEY: web.AppKey[dict[AbstractRoute, Contract]] = web.AppKey("route_contracts")
"""The declared contract of each route of an app (filled by :func:`add_route`)."""


def add_route(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    *,
    query: Iterable[str] = (),
    required_query: Iterable[str] = (),
    fields: Iterable[str] | None = None,
    required_fields: Iterable[str] = (),
    shape: ErrorShape | None = None,
    allow_head: bool = True,
    select: str | None = None,
) -> AbstractRoute:
    """Add a route and declare what it accepts (see the module docstring).

    A ``GET`` route also answers ``HEAD`` unless ``allow_head`` is false, as
    with ``app.router.add_get``; both share the contract. With ``select``, the
    route is the operation of its method and path chosen when the query has
    that key (a required parameter of it); without one, a request lacking
    every selecting key is refused for the first.
    """
    required = frozenset(required_query)
    declared_fields = None if fields is None else frozenset(fields) | frozenset(required_fields)
    contract = Contract(
        query=frozenset(query) | required,
        required_query=required,
        fields=declared_fields,
        required_fields=frozenset(required_fields),
        shape=shape,
    )
    contracts = app.setdefault(CONTRACTS_KEY, {})
    if select is not None:
        return _add_selected(app, method, path, handler, key=select, contract=contract, allow_head=allow_head)
    if method == "GET" and allow_head:
        contracts[app.router.add_route("HEAD", path, handler)] = contract
    route = app.router.add_route(method, path, handler)
    contracts[route] = contract
    return route


def _add_selected(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    *,
    key: str,
    contract: Contract,
    allow_head: bool,
) -> AbstractRoute:
    contract = replace(contract, query=contract.query | {key}, required_query=contract.required_query | {key})
    contracts = app[CONTRACTS_KEY]
    methods = ("HEAD", "GET") if method == "GET" and allow_head else (method,)
    route: AbstractRoute | None = None
    for each in methods:
        route = next(
            (
                r
                for r in contracts
                if r.method == each and r.resource is not None and r.resource.raw_match(path)
            ),
            None,
        )
        if route is None:  # no default operation: one lacking every selecting key is refused
            base = Contract(query=frozenset({key}), required_query=frozenset({key}), shape=contract.shape)
            route = app.router.add_route(each, path, handler)
            contracts[route] = base
        base = contracts[route]
        contracts[route] = replace(base, selected=(*base.selected, (key, handler, contract)))
    assert route is not None
    return route


def contract_of(app: web.Application, route: AbstractRoute) -> Contract | None:
    """The contract declared for ``route``, if any."""
    return app.get(CONTRACTS_KEY, {}).get(route)


async def _json_body(request: web.Request) -> Any:
    """The decoded JSON body, or ``None`` when absent or not JSON (the handler answers that)."""
    if not request.body_exists:
        return None
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None


async def _drain(request: web.Request) -> None:
    # Read an unread upload to its end before refusing it, so the client is never cut off mid-send.
    async for _ in request.content.iter_chunked(_DRAIN_CHUNK):
        pass


@web.middleware
async def contract_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse what the matched route's :class:`Contract` does not accept; answer every :class:`Refusal`."""
    contract = contract_of(request.app, request.match_info.route)
    if contract is not None:
        handler, contract = contract.select(request.query.keys(), handler)
    shape = (contract.shape if contract is not None else None) or SHAPES[request.app[SERVICE_KEY]]
    try:
        if contract is not None:
            body = await _json_body(request) if contract.fields is not None else None
            violation = contract.violations(request.query.items(), body)
            if violation is not None:
                await _drain(request)
                raise violation.refusal()
        return await handler(request)
    except Refusal as refusal:
        return shape(refusal)

"""Catalog filters: CQL2 parsed and checked by :mod:`eoclient.cql2` (the client's parser too), evaluated here.

What the parser refuses is a STAC 400 ``InvalidParameterValue``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from eoclient import cql2
from eoclient.emulator.sentinelhub.catalog.stac import bad

__all__ = ["Filter", "parse_cql2_text"]

_MISSING: Final = object()


def parse_cql2_text(text: str) -> dict[str, Any]:
    """CQL2 text as CQL2 JSON (:func:`eoclient.cql2.parse_text`); a STAC 400 when unsupported."""
    try:
        return cql2.parse_text(text)
    except cql2.Cql2Error as exc:
        raise bad(str(exc)) from None


class Filter:
    """A checked CQL2 JSON expression, evaluated against item properties."""

    def __init__(self, expr: Any, queryables: Iterable[str]) -> None:
        known = frozenset(queryables) | {"id", "datetime"}
        try:
            self.expr = cql2.check(expr, queryables=known)
        except cql2.Cql2Error as exc:
            raise bad(str(exc)) from None

    def __call__(self, props: Mapping[str, Any]) -> bool:
        return self._eval(self.expr, props)

    def _eval(self, expr: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
        op = expr["op"]
        args = expr["args"]
        if op == "and":
            return all(self._eval(a, props) for a in args)
        if op == "or":
            return any(self._eval(a, props) for a in args)
        if op == "not":
            return not self._eval(args[0], props)
        value = self._value(args[0], props)
        if op == "isNull":
            return value is None or value is _MISSING
        if value is None or value is _MISSING:
            return False
        try:
            if op == "between":
                return bool(self._value(args[1], props) <= value <= self._value(args[2], props))
            other = self._value(args[1], props)
            if other is None or other is _MISSING:
                return False
            return bool(_COMPARE[op](value, other))
        except TypeError:  # comparing a string with a number matches nothing
            return False

    @staticmethod
    def _value(operand: Any, props: Mapping[str, Any]) -> Any:
        if isinstance(operand, Mapping):
            return props.get(operand["property"], _MISSING)
        return operand


_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

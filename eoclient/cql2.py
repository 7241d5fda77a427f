"""CQL2 as Sentinel Hub's catalog takes it: text parsed to JSON, JSON checked and written as text.

The one CQL2 parser of the project. The client (:mod:`eoclient.sentinelhub.catalog`)
uses it to send every POST search's ``filter`` as CQL2 JSON and every GET
search's as CQL2 text; the emulator (:mod:`eoclient.emulator.sentinelhub.catalog`) uses
it to read what it is sent. So a filter the client lets through is one the
emulator understands, and the other way round. It imports nothing from
eoclient (standard library only), so that both sides may import it.

The language is the subset the service declares and documents: Basic CQL2
(``and``, ``or``, ``not``, ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=``,
``isNull``) and ``between``, over property references, strings and numbers.
``LIKE``, ``IN``, spatial, temporal, array and boolean literals are refused
with a :class:`Cql2Error` that says what to write instead.

>>> parse_text("eo:cloud_cover < 20 AND platform = 'sentinel-2a'")["op"]
'and'
>>> to_text({"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]})
'eo:cloud_cover < 20'
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any, Final

__all__ = ["COMPARISONS", "OPERATORS", "Cql2Error", "check", "parse_text", "to_text"]

COMPARISONS: Final = frozenset({"=", "<>", "<", "<=", ">", ">="})
"""The binary comparison operators (CQL2 JSON ``op`` values)."""

OPERATORS: Final = COMPARISONS | {"and", "or", "not", "between", "isNull"}
"""Every CQL2 JSON ``op`` this module accepts."""


class Cql2Error(ValueError):
    """A filter outside the supported CQL2 subset, or not CQL2 at all (the message says which part)."""


_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | '(?P<str>(?:[^']|'')*)'
      | "(?P<qid>[^"]+)"
      | (?P<op><=|>=|<>|!=|=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_:.\-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS: Final = frozenset({"AND", "OR", "NOT", "BETWEEN", "IS", "NULL"})
# Words of CQL2 outside the subset: refused by name rather than read as property names.
_UNSUPPORTED: Final = {
    "IN": "IN is not supported: write p = 'a' OR p = 'b'",
    "TRUE": "boolean literals are not supported",
    "FALSE": "boolean literals are not supported",
}
_UNSUPPORTED_WORDS: Final = frozenset({"LIKE"})
_BARE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_:.\-]*")
_SUPPORTED_TEXT: Final = "and, or, not, =, <>, <, <=, >, >=, between, isNull"


def _unsupported_word(word: str, *, call: bool) -> str | None:
    upper = word.upper()
    if upper in _UNSUPPORTED:
        return _UNSUPPORTED[upper]
    if upper in _UNSUPPORTED_WORDS:
        return f"{word} is not supported (supported: {_SUPPORTED_TEXT})"
    if call and upper not in _KEYWORDS:  # S_INTERSECTS(...), TIMESTAMP(...), CASEI(...)
        return f"functions such as {word}(...) are not supported (supported: {_SUPPORTED_TEXT})"
    return None


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Cql2Error(f"cannot parse the filter at {text[pos : pos + 20].strip()!r}")
        pos = match.end()
        if match.group("num") is not None:
            num = match.group("num")
            tokens.append(("lit", float(num) if any(c in num for c in ".eE") else int(num)))
        elif match.group("str") is not None:
            tokens.append(("lit", match.group("str").replace("''", "'")))
        elif match.group("qid") is not None:
            tokens.append(("prop", match.group("qid")))
        elif match.group("op") is not None:
            tokens.append(("op", match.group("op")))
        else:
            word = match.group("word")
            call = text[pos:].lstrip().startswith("(")
            refused = _unsupported_word(word, call=call)
            if refused is not None:
                raise Cql2Error(refused)
            upper = word.upper()
            tokens.append(("kw", upper) if upper in _KEYWORDS else ("prop", word))
    return tokens


class _TextParser:
    """Recursive descent over ``or > and > not > predicate``."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> dict[str, Any]:
        if not self.tokens:
            raise Cql2Error("the filter is empty")
        expr = self._or()
        if self.pos != len(self.tokens):
            raise Cql2Error(f"unexpected {self.tokens[self.pos][1]!r} in the filter")
        return expr

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, kind: str, value: Any = None) -> Any:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            found = "the end" if token is None else repr(token[1])
            wanted = value or ("a comparison" if kind == "op" else kind)
            raise Cql2Error(f"expected {wanted} in the filter, found {found}")
        self.pos += 1
        return token[1]

    def _accept(self, kind: str, value: Any) -> bool:
        if self._peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def _or(self) -> dict[str, Any]:
        args = [self._and()]
        while self._accept("kw", "OR"):
            args.append(self._and())
        return args[0] if len(args) == 1 else {"op": "or", "args": args}

    def _and(self) -> dict[str, Any]:
        args = [self._not()]
        while self._accept("kw", "AND"):
            args.append(self._not())
        return args[0] if len(args) == 1 else {"op": "and", "args": args}

    def _not(self) -> dict[str, Any]:
        if self._accept("kw", "NOT"):
            return {"op": "not", "args": [self._not()]}
        if self._accept("op", "("):
            expr = self._or()
            self._take("op", ")")
            return expr
        return self._predicate()

    def _operand(self) -> Any:
        token = self._peek()
        if token is None:
            raise Cql2Error("the filter ends too early")
        self.pos += 1
        kind, value = token
        if kind == "prop":
            return {"property": value}
        if kind == "lit":
            return value
        raise Cql2Error(f"expected a property or a value in the filter, found {value!r}")

    def _predicate(self) -> dict[str, Any]:
        left = self._operand()
        if self._accept("kw", "IS"):
            negate = self._accept("kw", "NOT")
            self._take("kw", "NULL")
            expr: dict[str, Any] = {"op": "isNull", "args": [left]}
            return {"op": "not", "args": [expr]} if negate else expr
        negate = self._accept("kw", "NOT")
        if self._accept("kw", "BETWEEN"):
            low = self._operand()
            self._take("kw", "AND")
            expr = {"op": "between", "args": [left, low, self._operand()]}
        elif negate:
            raise Cql2Error("NOT here must be followed by BETWEEN")
        else:
            op = self._take("op")
            if op == "!=":
                op = "<>"
            if op not in COMPARISONS:
                raise Cql2Error(f"expected a comparison in the filter, found {op!r}")
            expr = {"op": op, "args": [left, self._operand()]}
        return {"op": "not", "args": [expr]} if negate else expr


def parse_text(text: str) -> dict[str, Any]:
    """A cql2-text filter as CQL2 JSON (checked as :func:`check` does, without queryables).

    ``!=`` is read as ``<>``; keywords are case-insensitive; a property name
    may be double-quoted (``"eo:cloud_cover"``); a string is single-quoted
    with ``''`` for a quote. Raises :class:`Cql2Error`.
    """
    if not isinstance(text, str):
        raise Cql2Error(f"a cql2-text filter is a string, got {type(text).__name__}")
    return check(_TextParser(text).parse())


def check(expr: Any, *, queryables: Collection[str] | None = None) -> dict[str, Any]:
    """``expr`` when it is a CQL2 JSON expression of the supported subset, else :class:`Cql2Error`.

    With ``queryables``, every property it names must be one of them.
    """
    _check_expr(expr, queryables, depth=0)
    assert isinstance(expr, dict)  # _check_expr only passes Mappings that are dicts
    return expr


_MAX_DEPTH: Final = 64  # deeper than any hand-written filter: a guard against recursion, not a rule


def _check_expr(expr: Any, queryables: Collection[str] | None, *, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise Cql2Error("the filter is nested too deeply")
    if not isinstance(expr, dict) or not isinstance(expr.get("op"), str):
        raise Cql2Error("a CQL2 JSON expression is an object with 'op' and 'args'")
    op = expr["op"]
    args = expr.get("args")
    if op not in OPERATORS:
        hint = " (write p = 'a' OR p = 'b')" if op == "in" else ""
        raise Cql2Error(f"the filter operator {op!r} is not supported{hint}; supported: {_SUPPORTED_TEXT}")
    if not isinstance(args, list):
        raise Cql2Error(f"'{op}' needs an 'args' list")
    if op in ("and", "or"):
        if len(args) < 2:
            raise Cql2Error(f"'{op}' needs at least two arguments")
        for arg in args:
            _check_expr(arg, queryables, depth=depth + 1)
        return
    if op == "not":
        if len(args) != 1:
            raise Cql2Error("'not' takes one argument")
        _check_expr(args[0], queryables, depth=depth + 1)
        return
    arity = {"between": 3, "isNull": 1}.get(op, 2)
    if len(args) != arity:
        raise Cql2Error(f"'{op}' takes {arity} arguments")
    for operand in args:
        _check_operand(op, operand, queryables)


def _check_operand(op: str, operand: Any, queryables: Collection[str] | None) -> None:
    if isinstance(operand, Mapping):
        name = operand.get("property")
        if set(operand) != {"property"} or not isinstance(name, str) or not name:
            raise Cql2Error("only properties ({'property': name}), strings and numbers can be operands")
        if queryables is not None and name not in queryables:
            raise Cql2Error(f"{name!r} is not a queryable of this collection")
        return
    if op == "isNull":
        raise Cql2Error("'isNull' takes a property")
    if isinstance(operand, bool) or operand is None:
        raise Cql2Error(f"unsupported filter operand {operand!r} (only properties, strings and numbers)")
    if isinstance(operand, int | float):
        if not math.isfinite(operand):
            raise Cql2Error(f"the filter number {operand!r} is not finite")
        return
    if isinstance(operand, str) and op != "between":
        return
    what = "numbers or properties" if op == "between" else "properties, strings and numbers"
    raise Cql2Error(f"unsupported filter operand {operand!r} for '{op}' ({what})")


# -- CQL2 JSON -> text -------------------------------------------------------------------

_RESERVED: Final = _KEYWORDS | frozenset(_UNSUPPORTED) | _UNSUPPORTED_WORDS


def to_text(expr: Any) -> str:
    """A checked CQL2 JSON expression written as cql2-text that :func:`parse_text` reads back to it.

    And/or operands that are themselves and/or, and every ``NOT``, are
    parenthesised, so the nesting survives the round trip.
    """
    return _text(check(expr))


def _text(expr: dict[str, Any]) -> str:
    op, args = expr["op"], expr["args"]
    if op in ("and", "or"):
        parts = [f"({_text(a)})" if a["op"] in ("and", "or") else _text(a) for a in args]
        return f" {op.upper()} ".join(parts)
    if op == "not":
        return f"NOT ({_text(args[0])})"
    if op == "isNull":
        return f"{_operand_text(args[0])} IS NULL"
    if op == "between":
        low, high = (_operand_text(a) for a in args[1:])
        return f"{_operand_text(args[0])} BETWEEN {low} AND {high}"
    return f"{_operand_text(args[0])} {op} {_operand_text(args[1])}"


def _operand_text(operand: Any) -> str:
    if isinstance(operand, Mapping):
        name = operand["property"]
        if _BARE_NAME.fullmatch(name) and name.upper() not in _RESERVED:
            return str(name)
        if '"' in name:
            raise Cql2Error(f"the property name {name!r} cannot be written in cql2-text")
        return f'"{name}"'
    if isinstance(operand, str):
        return "'" + operand.replace("'", "''") + "'"
    return repr(float(operand)) if isinstance(operand, float) else str(int(operand))

"""Model conventions shared by every service module.

* :class:`Model` is the base of wire models: a ``msgspec.Struct`` with camelCase
  names on the wire, tolerant of unknown fields from the server, omitting
  unset optional fields when encoding.
* Wherever a model is accepted, a plain dict pasted from the docs is accepted
  too: :func:`to_wire` turns either into JSON-ready builtins, and
  :func:`from_wire` converts a decoded answer into a model, mapping a shape
  mismatch to :class:`~eoclient.errors.ResponseDecodeError` (from the server)
  or :class:`~eoclient.errors.ValidationError` (from the user).
* A field every answer carries is required on decode. A model only the
  service builds declares it without a default, so every decode path refuses
  an answer that lacks it. A model users also build (a BYOC tile: the user
  gives ``path``, the service adds ``id``) keeps the default for the user and
  names the field in :attr:`Model.required_in_answers` instead:
  :func:`from_wire` and :func:`from_json` refuse an answer where it is missing
  (or null), at any depth of the decoded type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import msgspec
import msgspec.inspect as mi

from eoclient.errors import ResponseDecodeError, ValidationError

__all__ = ["Model", "from_json", "from_user", "from_wire", "to_wire"]

T = TypeVar("T")


class Model(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """Base of wire models (camelCase on the wire, unknown fields ignored)."""

    required_in_answers: ClassVar[tuple[str, ...]] = ()
    """Optional fields (for users) that every answer of the service carries; checked by
    :func:`from_wire` and :func:`from_json`."""

    def to_dict(self) -> dict[str, Any]:
        """The wire form as a plain dict."""
        out = msgspec.to_builtins(self)
        assert isinstance(out, dict)
        return out


def to_wire(value: Any) -> Any:
    """JSON-ready builtins from a model, a mapping, or a mix (models inside dicts)."""
    return msgspec.to_builtins(value, builtin_types=None, order=None)


def from_wire(data: Any, type_: type[T], *, operation: str = "", path: str = "") -> T:
    """Convert a decoded server answer into ``type_``; a mismatch is the server's fault.

    A field the answer must carry and does not (see :attr:`Model.required_in_answers`)
    is a :class:`~eoclient.errors.ResponseDecodeError` naming it.
    """
    try:
        value = msgspec.convert(data, type_, strict=False)
    except msgspec.ValidationError as exc:
        message = f"unexpected response shape: {exc}"
        raise ResponseDecodeError(message, operation=operation, path=path) from exc
    _check_answer(value, type_, operation=operation, path=path)
    return value


def from_json(
    body: bytes, type_: Any = Any, *, operation: str = "", path: str = "", what: str = "response"
) -> Any:
    """Decode a JSON answer (bytes) into ``type_``, as :func:`from_wire` does.

    A body that is not JSON, or not UTF-8, is a
    :class:`~eoclient.errors.ResponseDecodeError` quoting its first bytes;
    ``what`` names the body in that message (``"part 'userdata'"``).
    """
    try:
        value = msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        message = f"unexpected response shape: {exc}"
        raise ResponseDecodeError(message, operation=operation, path=path) from exc
    except msgspec.DecodeError as exc:
        excerpt = bytes(body[:80]).decode("utf-8", "replace")
        raise ResponseDecodeError(
            f"{what} is not JSON ({exc}); starts with {excerpt!r}", operation=operation, path=path
        ) from exc
    _check_answer(value, type_, operation=operation, path=path)
    return value


def from_user(data: Any, type_: type[T], *, field: str) -> T:
    """Accept a model instance or a docs-style dict from the user; a mismatch names the field.

    Model instances are checked too (msgspec does not check types when a Struct
    is built in code): they go through their wire form like a dict. Types are
    strict: ``"32"`` for an ``int``, ``1.5`` for an ``int`` or ``True`` for a
    number is refused, not coerced. The error's field is a dotted path
    (``request.output.width``); a missing field is named itself
    (``collection.s3Bucket``).
    """
    if isinstance(data, msgspec.Struct):
        data = msgspec.to_builtins(data)
    if not (type(data) is dict or isinstance(data, Mapping)):  # exact type first: every request
        name = type_.__name__
        article = "an" if name[:1] in "AEIOU" else "a"
        raise ValidationError(field, f"expected {article} {name} or a dict, got {type(data).__name__}")
    try:
        # strict: a wrong type is named, never coerced ("32" is not a width, 1.5 not a count).
        return msgspec.convert(data, type_, strict=True)
    except msgspec.ValidationError as exc:
        text, where = str(exc), field
        # msgspec says "... - at `$.output.width`"; turn the path into a dotted field name.
        if " - at `$" in text:
            text, _, loc = text.partition(" - at `$")
            where = field + loc.rstrip("`")
        missing = _MISSING.match(text)
        if missing:
            where, text = f"{where}.{missing.group(1)}", "is required"
        raise ValidationError(where, text) from None


_MISSING = re.compile(r"Object missing required field `([^`]+)`")


# -- fields required in answers ------------------------------------------------------------

# A check returns what is wrong with a decoded value (``None`` when nothing is), given
# the value's location in msgspec's notation (``$``, ``$.data[0]``).
_Check = Callable[[Any, str], str | None]


def _check_answer(value: Any, type_: Any, *, operation: str, path: str) -> None:
    check = _answer_check(type_)
    problem = check(value, "$") if check is not None else None
    if problem is not None:
        raise ResponseDecodeError(f"unexpected response shape: {problem}", operation=operation, path=path)


def _answer_check(type_: Any) -> _Check | None:
    """The check of ``type_`` (``None`` when no model inside it requires anything)."""
    try:
        return _cached_check(type_)
    except TypeError:  # an unhashable type annotation: build it uncached
        return _compile(mi.type_info(type_), {})


@functools.lru_cache(maxsize=512)
def _cached_check(type_: Any) -> _Check | None:
    return _compile(mi.type_info(type_), {})


def _at(where: str) -> str:
    return "" if where == "$" else f" - at `{where}`"


def _compile(info: mi.Type, seen: dict[type, list[Any]]) -> _Check | None:
    """A check that walks a decoded value along its type, only where a model requires something."""
    if isinstance(info, mi.StructType):
        return _compile_struct(info, seen)
    if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        item = _compile(info.item_type, seen)
        if item is None:
            return None

        def each(value: Any, where: str) -> str | None:
            for i, element in enumerate(value):
                problem = item(element, f"{where}[{i}]")
                if problem is not None:
                    return problem
            return None

        return each
    if isinstance(info, mi.TupleType):
        items = [(i, c) for i, t in enumerate(info.item_types) if (c := _compile(t, seen)) is not None]
        if not items:
            return None
        return lambda value, where: next(
            (p for i, c in items if (p := c(value[i], f"{where}[{i}]")) is not None), None
        )
    if isinstance(info, mi.DictType):
        inner = _compile(info.value_type, seen)
        if inner is None:
            return None
        return lambda value, where: next(
            (p for k, v in value.items() if (p := inner(v, f"{where}[{k!r}]")) is not None), None
        )
    if isinstance(info, mi.UnionType):
        return _compile_union(info, seen)
    return None


def _compile_struct(info: mi.StructType, seen: dict[type, list[Any]]) -> _Check | None:
    cls = info.cls
    if cls in seen:
        cell = seen[cls]  # [check, compiled]
        if cell[1]:
            return cell[0]  # type: ignore[no-any-return]
        # A recursive model: its check is filled in once compiled.
        return lambda value, where: cell[0](value, where) if cell[0] is not None else None
    cell = seen[cls] = [None, False]
    names = set(getattr(cls, "required_in_answers", ()))
    required = [(f.name, f.encode_name) for f in info.fields if f.name in names]
    nested = [(f.name, f.encode_name, c) for f in info.fields if (c := _compile(f.type, seen)) is not None]
    cell[1] = True
    if not required and not nested:
        return None

    def check(value: Any, where: str) -> str | None:
        for name, wire in required:
            if getattr(value, name) is None:
                return f"Object missing required field `{wire}`{_at(where)}"
        for name, wire, inner in nested:
            child = getattr(value, name)
            if child is not None:
                problem = inner(child, f"{where}.{wire}")
                if problem is not None:
                    return problem
        return None

    cell[0] = check
    return check


def _compile_union(info: mi.UnionType, seen: dict[type, list[Any]]) -> _Check | None:
    # Each member's check applies to the values of that member's Python type.
    kinds: list[tuple[type | tuple[type, ...], _Check]] = []
    for member in info.types:
        inner = _compile(member, seen)
        if inner is None:
            continue
        if isinstance(member, mi.StructType):
            kinds.append((member.cls, inner))
        elif isinstance(member, mi.DictType):
            kinds.append((dict, inner))
        else:
            kinds.append(((list, tuple, set, frozenset), inner))
    if not kinds:
        return None

    def check(value: Any, where: str) -> str | None:
        for kind, inner in kinds:
            if isinstance(value, kind):
                return inner(value, where)
        return None

    return check

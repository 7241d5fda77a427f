"""The generic proxy: any object of the async API, used without ``await``.

Nothing here knows a family, a method or a model. An object whose class has
coroutine methods, async generator methods or async protocols (``__aiter__``,
``__anext__``, ``__aenter__``, ``__await__``) is shown through a proxy whose
class is generated once per wrapped class:

* a coroutine method becomes a method that blocks until the coroutine is done
  in the client's loop thread and returns its (wrapped) result;
* any other method runs in the loop thread too (it may make loop-bound
  objects) and its result is wrapped: a Paginator, a Job, an async iterator;
* an async iterator or async generator becomes a plain iterator (closing it,
  or dropping it half-way, closes the async one in the loop);
* ``async for`` becomes ``for``, ``async with`` becomes ``with``, and
  ``await obj`` becomes ``obj.result()`` (unless the class has a ``result``);
* other attributes are read as they are; lists, tuples and dicts of such
  objects are wrapped item by item; plain data (models, bytes, reports) is
  returned unchanged, so its own sync methods (``ProcessResult.to_xarray()``)
  are there as they are, unless one of its fields holds async objects (an
  Async Process delivery's ``objects``): then it is proxied too.

Arguments given to a proxied method are unwrapped first, so a proxied Job can
be handed back to the API (``sh.resume_job``, ``sk.kraken.download_map``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Protocol

from eoclient.errors import ClientClosedError

__all__ = ["Owner", "SyncProxy", "unwrap", "wrap"]

_PLAIN: Final = (str, bytes, bytearray, int, float, complex, bool, type(None))
_ASYNC_PROTOCOLS: Final = ("__aiter__", "__anext__", "__aenter__", "__await__")
_FORWARDED: Final = ("__len__", "__getitem__", "__contains__", "__bool__", "__call__")
_DONE: Final = object()  # what _anext returns at the end (StopAsyncIteration does not cross threads well)


class Owner(Protocol):
    """What every proxy holds on to: the sync client, whose loop runs its calls (and stays alive)."""

    def _eo_call(self, func: Callable[..., Any], *args: Any) -> Any: ...

    def _eo_closed(self) -> bool: ...


class SyncProxy:
    """A sync view of one object of the async API (see the module's docstring).

    Attribute access and method calls go to the wrapped object; the proxied
    object itself is ``eoclient.sync.unwrap(proxy)``. Its type is ``Any`` to
    type checkers: what comes back is generated at run time from the async
    API, so its precise types are those of the async methods, without the
    ``Awaitable``.
    """

    __slots__ = ("__weakref__", "_eo_owner", "_eo_target")

    _eo_target: Any
    _eo_owner: Owner

    def __init__(self, target: Any, owner: Owner) -> None:
        object.__setattr__(self, "_eo_target", target)
        object.__setattr__(self, "_eo_owner", owner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._eo_target, name)
        if inspect.ismethod(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
            return _sync_function(value, self._eo_owner)
        return wrap(value, self._eo_owner)

    def __setattr__(self, name: str, value: Any) -> None:
        # In the loop thread: a setter may touch what the loop uses (sh.budget = ...).
        self._eo_owner._eo_call(setattr, self._eo_target, name, unwrap(value))

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._eo_target)) | set(object.__dir__(self)))

    def __repr__(self) -> str:
        return f"<sync {self._eo_target!r}>"


def wrap(value: Any, owner: Owner) -> Any:
    """``value`` as the sync API shows it (see the module's docstring)."""
    if isinstance(value, (*_PLAIN, SyncProxy)):
        return value
    if inspect.isasyncgen(value):
        return _iterate(owner, _same, value)
    if inspect.iscoroutine(value):
        return wrap(owner._eo_call(_await, value), owner)
    if type(value) in (list, tuple):
        wrapped = [wrap(item, owner) for item in value]
        if any(w is not v for w, v in zip(wrapped, value, strict=True)):
            return type(value)(wrapped)
        return value
    if type(value) is dict:
        items = {key: wrap(item, owner) for key, item in value.items()}
        return items if any(items[k] is not v for k, v in value.items()) else value
    proxy = _proxy_type(type(value))
    if proxy is None and _holds_async(value):
        proxy = _proxy_type(type(value), force=True)
    return value if proxy is None else proxy(value, owner)


def unwrap(value: Any) -> Any:
    """The async object behind a proxy (containers item by item); anything else unchanged."""
    if isinstance(value, SyncProxy):
        return value._eo_target
    if type(value) in (list, tuple):
        return type(value)(unwrap(item) for item in value)
    if type(value) is dict:
        return {key: unwrap(item) for key, item in value.items()}
    return value


# -- calls ------------------------------------------------------------------------------------------------


async def _invoke(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` in the loop, its coroutine awaited there."""
    result = func(*args, **kwargs)
    if inspect.iscoroutine(result):
        result = await result
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _same(value: Any) -> Any:
    return value


def _sync_function(func: Callable[..., Any], owner: Owner) -> Callable[..., Any]:
    """``func`` without ``await``: run in the owner's loop, result wrapped; docs and signature kept."""

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(unwrap(a) for a in args)
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        return wrap(owner._eo_call(_invoke, func, args, kwargs), owner)

    return call


# -- iteration --------------------------------------------------------------------------------------------


async def _anext(iterator: Any) -> Any:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _DONE


def _iterate(owner: Owner, source: Callable[[Any], Any], target: Any) -> Iterator[Any]:
    """A plain iterator over the async iterator ``source(target)`` (made in the loop on the first ``next``).

    Closing it (or dropping it half-way, or ``break``) closes the async iterator in the loop.
    """
    iterator = owner._eo_call(source, target)
    try:
        while True:
            item = owner._eo_call(_anext, iterator)
            if item is _DONE:
                return
            yield wrap(item, owner)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None and not owner._eo_closed():
            # The loop is gone, or this runs inside it (a finalizer): it closes its own generators.
            with contextlib.suppress(ClientClosedError, RuntimeError):
                owner._eo_call(aclose)


# -- generated proxy classes --------------------------------------------------------------------------------


def _is_async_member(cls: type, name: str) -> bool:
    static = inspect.getattr_static(cls, name, None)
    func = getattr(static, "__func__", static)  # staticmethod / classmethod
    return inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)


def _is_async_type(cls: type) -> bool:
    """Whether ``cls`` has coroutine or async generator methods or an async protocol (cached)."""
    known = _ASYNC_TYPES.get(cls)
    if known is None:
        names = dir(cls)
        known = _ASYNC_TYPES[cls] = any(n in _ASYNC_PROTOCOLS or _is_async_member(cls, n) for n in names)
    return known


def _holds_async(value: Any) -> bool:
    """Whether a model (a dataclass, a msgspec Struct, an object of eoclient) holds async ones in its fields.

    An Async Process delivery's ``objects`` are Outputs, for one.

    One level deep, through lists, tuples and dicts: results of the async API
    are models that list what a job delivered, not deeper structures.
    """
    fields = getattr(value, "__struct_fields__", None)  # msgspec
    if fields is None and dataclasses.is_dataclass(value):
        fields = [field.name for field in dataclasses.fields(value)]
    if fields is None and type(value).__module__.startswith("eoclient."):
        fields = list(getattr(value, "__dict__", ()))
    if not fields:
        return False  # not a model: another library's object is left as it is
    for name in fields:
        item: Any = getattr(value, name, None)
        items: Iterable[Any] = (
            item.values() if type(item) is dict else item if type(item) in (list, tuple) else (item,)
        )
        if any(_is_async_type(type(i)) for i in items):
            return True
    return False


def _proxy_type(cls: type, *, force: bool = False) -> type[SyncProxy] | None:
    """The proxy class for instances of ``cls``: ``None`` when ``cls`` has nothing async, unless ``force``."""
    if not (force or _is_async_type(cls)):
        return None
    proxy = _PROXY_TYPES.get(cls)
    if proxy is None:
        proxy = _PROXY_TYPES[cls] = _generate(cls)
    return proxy


_ASYNC_TYPES: Final[dict[type, bool]] = {}
_PROXY_TYPES: Final[dict[type, type[SyncProxy]]] = {}


def _generate(cls: type) -> type[SyncProxy]:
    names = set(dir(cls))
    protocols = {name for name in _ASYNC_PROTOCOLS if name in names}
    members: dict[str, Any] = {"__slots__": (), "__doc__": cls.__doc__, "__module__": __name__}
    if "__aiter__" in protocols:
        members["__iter__"] = _iter_async
    elif "__iter__" in names:
        members["__iter__"] = _iter_sync
    if "__anext__" in protocols:
        members["__next__"] = _next_async
    if "__aenter__" in protocols:
        members["__enter__"] = _enter_async
        members["__exit__"] = _exit_async
    elif "__enter__" in names:
        members["__enter__"] = _enter_sync
        members["__exit__"] = _exit_sync
    if "__await__" in protocols and "result" not in names:
        members["result"] = _result
    for name in _FORWARDED:
        if name in names:
            members[name] = _forward(name)
    return type(f"Sync{cls.__name__}", (SyncProxy,), members)


def _iter_async(self: SyncProxy) -> Iterator[Any]:
    """``async for`` of the async API, as ``for``."""
    return _iterate(self._eo_owner, aiter, self._eo_target)


def _iter_sync(self: SyncProxy) -> Iterator[Any]:
    owner = self._eo_owner
    return (wrap(item, owner) for item in owner._eo_call(list, self._eo_target))


def _next_async(self: SyncProxy) -> Any:
    item = self._eo_owner._eo_call(_anext, self._eo_target)
    if item is _DONE:
        raise StopIteration
    return wrap(item, self._eo_owner)


def _enter_async(self: SyncProxy) -> Any:
    """``async with`` of the async API, as ``with``."""
    entered = self._eo_owner._eo_call(self._eo_target.__aenter__)
    return self if entered is self._eo_target else wrap(entered, self._eo_owner)


def _exit_async(self: SyncProxy, *exc_info: Any) -> Any:
    return self._eo_owner._eo_call(self._eo_target.__aexit__, *exc_info)


def _enter_sync(self: SyncProxy) -> Any:
    entered = self._eo_owner._eo_call(self._eo_target.__enter__)
    return self if entered is self._eo_target else wrap(entered, self._eo_owner)


def _exit_sync(self: SyncProxy, *exc_info: Any) -> Any:
    return self._eo_owner._eo_call(self._eo_target.__exit__, *exc_info)


def _result(self: SyncProxy) -> Any:
    """What ``await obj`` gives in the async API (for a Job: its result, waiting until it ends)."""
    return wrap(self._eo_owner._eo_call(_await, self._eo_target), self._eo_owner)


def _forward(name: str) -> Callable[..., Any]:
    def method(self: SyncProxy, *args: Any) -> Any:
        bound = getattr(self._eo_target, name)
        return wrap(
            self._eo_owner._eo_call(_invoke, bound, tuple(unwrap(a) for a in args), {}), self._eo_owner
        )

    method.__name__ = name
    return method

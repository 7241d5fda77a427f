"""What loads on first use: a client's services (``sh.batch``) and a package's public names.

A program that renders images never imports the Batch, BYOC or storage
modules, so ``eoclient.SentinelHub`` loads in about two thirds of the time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar, overload

S = TypeVar("S")


class _HasContext(Protocol):
    @property
    def context(self) -> Any: ...


class Service(Generic[S]):
    """A client attribute holding ``module.name(client.context)``, made when first read.

    The made service is stored on the instance (``obj.__dict__``), which this
    non-data descriptor then lets through: one import and one construction per
    client, and assigning the attribute (a test double) works as for any other.
    """

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._attr = name

    def __set_name__(self, owner: type, attr: str) -> None:
        self._attr = attr

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Service[S]: ...

    @overload
    def __get__(self, obj: _HasContext, owner: type | None = None) -> S: ...

    def __get__(self, obj: _HasContext | None, owner: type | None = None) -> Service[S] | S:
        if obj is None:
            return self
        service: S = getattr(importlib.import_module(self._module), self._name)(obj.context)
        vars(obj)[self._attr] = service
        return service


def lazy_names(module: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing each public name's home on first use.

    ``table`` maps a public name to ``"home.module"`` (the same name there) or
    ``"home.module:Name"`` (another name there). A name found is kept in the
    module's namespace: later lookups do not come back here.
    """

    def __getattr__(name: str) -> Any:
        home = table.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        path, _, attr = home.partition(":")
        value = getattr(importlib.import_module(path), attr or name)
        setattr(sys.modules[module], name, value)
        return value

    return __getattr__


__all__ = ["Service", "lazy_names"]

"""The generic proxy on a small async API of its own: every shape it turns into sync code."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Self

import pytest

import eoclient.sync
from eoclient.errors import ClientClosedError, ValidationError


class Counter:
    """An async iterator object (``__anext__``), not a generator."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> int:
        if self.n == 0:
            raise StopAsyncIteration
        self.n -= 1
        await asyncio.sleep(0)
        return self.n


class Handle:
    """Awaitable, with an async context and an async generator method."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.entered = self.exited = False
        self.closed_generators = 0

    def __await__(self) -> Any:
        return asyncio.sleep(0, result=self.value * 10).__await__()

    async def __aenter__(self) -> Self:
        self.entered = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.exited = True

    async def stream(self) -> AsyncIterator[int]:
        try:
            for i in range(100):
                yield i
        finally:
            self.closed_generators += 1


@dataclass
class Report:
    """Plain data that holds async objects."""

    handles: list[Handle]
    total: int


class Family:
    """A family: coroutine methods, sync methods returning async objects, a nested family."""

    def __init__(self, nested: bool = True) -> None:
        self.loop_of_last_call: asyncio.AbstractEventLoop | None = None
        self.child = Family(nested=False) if nested else None

    async def add(self, a: int, b: int = 0) -> int:
        """Add two numbers."""
        self.loop_of_last_call = asyncio.get_running_loop()
        return a + b

    def handle(self, value: int) -> Handle:
        self.loop_of_last_call = asyncio.get_running_loop()  # sync methods run in the loop too
        return Handle(value)

    def count(self, n: int) -> Counter:
        return Counter(n)

    async def report(self, n: int) -> Report:
        return Report([Handle(i) for i in range(n)], n)

    async def value_of(self, handle: Handle) -> int:
        assert isinstance(handle, Handle)  # a proxy given back arrives unwrapped
        return handle.value

    async def fail(self) -> None:
        raise ValidationError("field", "is wrong")


class Toy:
    """An async client: ``async with``, ``aclose``, families."""

    def __init__(self, name: str) -> None:
        if not name:
            raise ValidationError("name", "is empty")
        self.name = name
        self.family = Family()
        self.opened = self.closed = False

    async def __aenter__(self) -> Self:
        self.opened = True
        return self

    async def aclose(self) -> None:
        self.closed = True


class SyncToy(eoclient.sync.SyncClient):
    __slots__ = ()
    async_client = Toy


@pytest.fixture
def toy() -> Any:
    with SyncToy("t") as client:
        yield client


def test_coroutine_methods_block_in_the_clients_loop(toy: Any) -> None:
    assert toy.family.add(1, b=2) == 3
    loop = eoclient.sync.unwrap(toy.family).loop_of_last_call
    assert loop is not None and loop.is_running()  # its own loop, in its own thread
    assert toy.family.child.add(4) == 4  # nested families
    assert toy.name == "t" and eoclient.sync.unwrap(toy).opened


def test_signature_and_documentation_are_those_of_the_async_api(toy: Any) -> None:
    assert inspect.signature(SyncToy) == inspect.signature(Toy)
    assert toy.family.add.__doc__ == "Add two numbers."
    assert list(inspect.signature(toy.family.add).parameters) == ["a", "b"]


def test_awaitables_async_contexts_and_generators(toy: Any) -> None:
    handle = toy.family.handle(4)
    assert handle.result() == 40  # `await handle`
    with handle as entered:
        assert entered is handle and eoclient.sync.unwrap(handle).entered
    assert eoclient.sync.unwrap(handle).exited
    stream = handle.stream()
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # closes the async generator in the loop
    assert eoclient.sync.unwrap(handle).closed_generators == 1
    for i in handle.stream():
        if i == 5:
            break
    assert eoclient.sync.unwrap(handle).closed_generators == 2  # dropped half-way: closed too


def test_async_iterator_objects(toy: Any) -> None:
    assert list(toy.family.count(3)) == [2, 1, 0]
    counter = toy.family.count(2)
    assert next(counter) == 1 and next(counter) == 0
    with pytest.raises(StopIteration):
        next(counter)


def test_plain_data_holding_async_objects_and_arguments_given_back(toy: Any) -> None:
    report = toy.family.report(3)
    assert report.total == 3
    assert [h.result() for h in report.handles] == [0, 10, 20]
    assert isinstance(eoclient.sync.unwrap(report), Report)
    assert toy.family.value_of(report.handles[2]) == 2


def test_errors_cross_unchanged_and_constructor_errors_come_first() -> None:
    with pytest.raises(ValidationError) as info:
        SyncToy("")
    assert info.value.field == "name"
    with SyncToy("t") as toy, pytest.raises(ValidationError):
        toy.family.fail()


def test_closed_client() -> None:
    toy = SyncToy("t")
    handle = toy.family.handle(1)  # the first call starts the loop and opens the client
    async_toy = eoclient.sync.unwrap(toy)
    assert async_toy.opened and not async_toy.closed
    toy.close()
    assert async_toy.closed and toy.closed
    with pytest.raises(ClientClosedError):
        handle.result()
    with pytest.raises(ClientClosedError):
        toy.family.add(1)

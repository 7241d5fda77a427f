"""pytest plugin: a running emulator, and clients logged in to it (a ``pytest11`` entry point).

Installed with eoclient, active wherever pytest runs; no other plugin is needed::

    @pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)
    async def test_search(eo_sentinelhub: SentinelHub) -> None:
        assert await eo_sentinelhub.catalog.search("sentinel-2-l2a", bbox=BBOX, datetime=JUNE).collect()

Fixtures (function scope):

* ``eo_emulator``: a started :class:`~eoclient.emulator.Emulator`, stopped
  after the test; the marker's keyword arguments go to its constructor;
* ``eo_sentinelhub`` / ``eo_spaceknow``: a :class:`~eoclient.SentinelHub` /
  :class:`~eoclient.SpaceKnow` with the emulator's URLs and credentials, polling
  and retrying at :data:`CLIENT_POLL` / :data:`CLIENT_RETRY` (the emulator's
  clock runs fast), closed after the test; made by
  :func:`eoclient.emulator.clients.sentinelhub_client` /
  :func:`~eoclient.emulator.clients.spaceknow_client`, which build such
  clients anywhere (another client in the same test, other credentials).

The emulator serves from the test's event loop, so the tests that use it are
``async def``. Who runs them: pytest-asyncio when it takes the test (its auto
mode, or ``@pytest.mark.asyncio``), anyio's plugin for ``@pytest.mark.anyio``;
any other coroutine test that uses one of these fixtures is run by this plugin,
in an event loop of its own, together with its function-scoped async fixtures.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from typing import Any, Final

import pytest

from eoclient.emulator.clients import CLIENT_POLL, CLIENT_RETRY, sentinelhub_client, spaceknow_client
from eoclient.emulator.server import Emulator
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow

__all__ = [
    "CLIENT_POLL",
    "CLIENT_RETRY",
    "eo_emulator",
    "eo_sentinelhub",
    "eo_spaceknow",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_pyfunc_call",
    "pytest_runtest_teardown",
]

FIXTURES: Final = frozenset({"eo_emulator", "eo_sentinelhub", "eo_spaceknow"})
_OWNED: Final = pytest.StashKey[bool]()
_LOOP: Final = pytest.StashKey["_TestLoop"]()


def _async_fixture(func: Callable[..., Any]) -> Any:
    """``pytest_asyncio.fixture`` when installed (its strict mode runs no other async fixture)."""
    try:
        import pytest_asyncio  # noqa: PLC0415 - optional
    except ImportError:
        return pytest.fixture(func)
    return pytest_asyncio.fixture(func)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``eo_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "eo_emulator(**kwargs): keyword arguments for the Emulator of the eo_emulator "
        "fixture (seed, clock_speed, faults, token_ttl, credentials, ...)",
    )


# -- the fixtures ---------------------------------------------------------------------------------------


@_async_fixture
async def eo_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A started :class:`~eoclient.emulator.Emulator`, stopped after the test."""
    marker = request.node.get_closest_marker("eo_emulator")
    if marker is not None and marker.args:
        pytest.fail("@pytest.mark.eo_emulator takes keyword arguments only", pytrace=False)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    async with Emulator(**kwargs) as emulator:
        yield emulator


@_async_fixture
async def eo_sentinelhub(eo_emulator: Emulator) -> AsyncIterator[SentinelHub]:
    """A :class:`~eoclient.SentinelHub` client of ``eo_emulator``, closed after the test."""
    async with sentinelhub_client(eo_emulator) as client:
        yield client


@_async_fixture
async def eo_spaceknow(eo_emulator: Emulator) -> AsyncIterator[SpaceKnow]:
    """A :class:`~eoclient.SpaceKnow` client of ``eo_emulator``, closed after the test."""
    async with spaceknow_client(eo_emulator) as client:
        yield client


# -- running the coroutine tests no other plugin runs --------------------------------------------------


class _TestLoop:
    """One test's event loop and context: its async fixtures and the test itself run here."""

    def __init__(self) -> None:
        self._runner = asyncio.Runner()
        self._context = contextvars.copy_context()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self._runner.run(coro, context=self._context)

    def close(self) -> None:
        self._runner.close()


def _owned(item: pytest.Item) -> bool:
    """Whether this plugin runs ``item``: a coroutine test using our fixtures that no other plugin takes."""
    owned = item.stash.get(_OWNED, None)
    if owned is None:
        owned = item.stash[_OWNED] = _unclaimed_coroutine_test(item) and bool(
            FIXTURES.intersection(getattr(item, "fixturenames", ()))
        )
    return owned


def _unclaimed_coroutine_test(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function) or not inspect.iscoroutinefunction(item.obj):
        return False
    if item.get_closest_marker("anyio") is not None or "anyio_backend" in item.fixturenames:
        return False  # anyio's plugin runs it
    # pytest-asyncio marks every test it runs (auto mode adds the marker itself).
    return not (
        item.config.pluginmanager.has_plugin("asyncio") and item.get_closest_marker("asyncio") is not None
    )


def _loop(item: pytest.Item) -> _TestLoop:
    loop = item.stash.get(_LOOP, None)
    if loop is None:
        loop = item.stash[_LOOP] = _TestLoop()
    return loop


def _in_loop(func: Callable[..., Any], loop: _TestLoop) -> Callable[..., Any]:
    """A sync stand-in for an async fixture function that runs it in ``loop``."""
    if inspect.isasyncgenfunction(func):

        def generator(*args: Any, **kwargs: Any) -> Generator[Any]:
            agen = func(*args, **kwargs)
            yield loop.run(agen.__anext__())
            try:
                loop.run(agen.__anext__())
            except StopAsyncIteration:
                return
            loop.run(agen.aclose())
            pytest.fail(f"async fixture {func.__name__} yielded twice", pytrace=False)

        return generator

    def function(*args: Any, **kwargs: Any) -> Any:
        return loop.run(func(*args, **kwargs))

    return function


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None]:
    """Run the function-scoped async fixtures of the tests this plugin runs, in the test's loop."""
    func = fixturedef.func
    is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
    if not (is_async and fixturedef.scope == "function" and _owned(request.node)):
        return (yield)
    if inspect.ismethod(func) and request.instance is not None:
        func = func.__func__.__get__(request.instance)  # a fixture method of the test's own class
    original = fixturedef.func
    # Swapped before pytest-asyncio's wrapper looks: it then leaves this fixture alone.
    fixturedef.func = _in_loop(func, _loop(request.node))  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = original  # type: ignore[misc]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a coroutine test this plugin owns in its loop."""
    if not _owned(pyfuncitem):
        return None
    names = inspect.signature(pyfuncitem.obj).parameters
    kwargs = {name: pyfuncitem.funcargs[name] for name in names if name in pyfuncitem.funcargs}
    _loop(pyfuncitem).run(pyfuncitem.obj(**kwargs))
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Close the test's loop once its fixtures are torn down."""
    del nextitem
    try:
        return (yield)
    finally:
        loop = item.stash.get(_LOOP, None)
        if loop is not None:
            del item.stash[_LOOP]
            loop.close()

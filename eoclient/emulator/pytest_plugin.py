"""pytest plugin: the ``eo_emulator`` fixture (registered as a ``pytest11`` entry point).

Example::

    @pytest.mark.eo_emulator(seed=3, clock_speed=1000.0, faults=FaultConfig(rate_limit=0.1))
    async def test_download(eo_emulator: Emulator) -> None:
        url = eo_emulator.sentinelhub_url

The marker's keyword arguments go to :class:`~eoclient.emulator.Emulator`. The
fixture needs pytest-asyncio; without it the plugin only registers the marker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eoclient.emulator.server import Emulator

__all__ = ["pytest_configure"]

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture is simply not offered
    _HAVE_PYTEST_ASYNCIO = False
else:
    _HAVE_PYTEST_ASYNCIO = True


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``eo_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "eo_emulator(**kwargs): keyword arguments for the Emulator of the eo_emulator "
        "fixture (seed, clock_speed, faults, token_ttl, credentials, ...)",
    )


if _HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def eo_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
        """A started :class:`~eoclient.emulator.Emulator`, stopped after the test."""
        marker = request.node.get_closest_marker("eo_emulator")
        if marker is not None and marker.args:
            raise TypeError("@pytest.mark.eo_emulator takes keyword arguments only")
        kwargs = dict(marker.kwargs) if marker is not None else {}
        async with Emulator(**kwargs) as emulator:
            yield emulator

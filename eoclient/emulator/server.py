"""Building the two service apps and running them: :class:`Emulator`.

Service modules plug in here: add the module's ``setup`` to
:data:`SENTINELHUB_SETUP` or :data:`SPACEKNOW_SETUP`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core import control, drop, sample_jobs
from eoclient.emulator.core.auth import (
    SH_TOKEN_PATH,
    SK_AUTH_PATH,
    auth_middleware,
    is_auth_path,
    setup_sentinelhub_auth,
    setup_spaceknow_auth,
)
from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.faults import FaultConfig, FaultInjector
from eoclient.emulator.core.jobs import JobEngine
from eoclient.emulator.core.middleware import (
    error_shape_middleware,
    fault_middleware,
    record_middleware,
)
from eoclient.emulator.core.routing import CONTRACTS_KEY, contract_middleware
from eoclient.emulator.core.state import (
    PUBLIC_PATHS_KEY,
    SERVICE_KEY,
    STATE_KEY,
    EmulatorState,
    RequestRecord,
    SetupFn,
)
from eoclient.emulator.core.tokens import SENTINELHUB, SPACEKNOW, Credentials, Service
from eoclient.emulator.sentinelhub import async_process as sh_async_process
from eoclient.emulator.sentinelhub import batch as sh_batch
from eoclient.emulator.sentinelhub import batch_statistics as sh_batch_statistics
from eoclient.emulator.sentinelhub import byoc as sh_byoc
from eoclient.emulator.sentinelhub import catalog as sh_catalog
from eoclient.emulator.sentinelhub import process as sh_process
from eoclient.emulator.sentinelhub import statistics as sh_statistics
from eoclient.emulator.sentinelhub import tiling_grids as sh_tiling_grids
from eoclient.emulator.spaceknow import credits as sk_credits
from eoclient.emulator.spaceknow import datacube as sk_datacube
from eoclient.emulator.spaceknow import imagery as sk_imagery
from eoclient.emulator.spaceknow import kraken as sk_kraken
from eoclient.emulator.spaceknow import pipelines as sk_pipelines
from eoclient.emulator.spaceknow import users as sk_users

__all__ = ["SENTINELHUB_SETUP", "SPACEKNOW_SETUP", "Emulator", "build_app"]

SENTINELHUB_SETUP: Final[list[SetupFn]] = [
    sample_jobs.setup,
    sh_process.setup,
    sh_statistics.setup,
    sh_catalog.setup,
    sh_byoc.setup,
    sh_tiling_grids.setup,
    sh_async_process.setup,
    sh_batch.setup,
    sh_batch_statistics.setup,
]
"""Route setup functions of the Sentinel Hub app, called in order."""

SPACEKNOW_SETUP: Final[list[SetupFn]] = [
    sk_pipelines.setup,
    sk_imagery.setup,
    sk_kraken.setup,
    sk_datacube.setup,
    sk_credits.setup,
    sk_users.setup,
]
"""Route setup functions of the SpaceKnow app, called in order."""

_CLIENT_MAX_SIZE: Final = 64 * 1024 * 1024  # large evalscripts, BYOC/batch payloads
_SHUTDOWN_TIMEOUT: Final = 2.0  # seconds to let in-flight handlers finish on stop


def build_app(
    service: Service, state: EmulatorState, setups: Sequence[SetupFn] | None = None
) -> web.Application:
    """One service's app: middlewares, token endpoints, control routes, then ``setups``
    (default: :data:`SENTINELHUB_SETUP` or :data:`SPACEKNOW_SETUP`)."""
    app = web.Application(
        middlewares=[
            record_middleware,
            fault_middleware,
            error_shape_middleware,
            auth_middleware,
            contract_middleware,
        ],
        client_max_size=_CLIENT_MAX_SIZE,
    )
    app[STATE_KEY] = state
    app[SERVICE_KEY] = service
    app[PUBLIC_PATHS_KEY] = set()
    app[CONTRACTS_KEY] = {}
    app.on_response_prepare.append(drop.on_response_prepare)
    if service == SENTINELHUB:
        setup_sentinelhub_auth(app, state)
        default = SENTINELHUB_SETUP
    else:
        setup_spaceknow_auth(app, state)
        default = SPACEKNOW_SETUP
    control.setup(app, state)
    for setup in default if setups is None else setups:
        setup(app, state)
    return app


class Emulator:
    """Both services on loopback, each on its own port.

    ``credentials`` overrides what the token endpoints accept;
    ``sentinelhub_setup``/``spaceknow_setup`` add routes after the built-in ones.

    Example::

        async with Emulator(seed=1, clock_speed=100.0) as emu:
            creds = emu.credentials
            url = emu.sentinelhub_token_url
            emu.faults.inject("rate_limit", retry_after=0.01)
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock_speed: float = 1.0,
        faults: FaultConfig | None = None,
        token_ttl: float = 3600.0,
        host: str = "127.0.0.1",
        sentinelhub_port: int = 0,
        spaceknow_port: int = 0,
        credentials: Credentials | None = None,
        sentinelhub_setup: Sequence[SetupFn] = (),
        spaceknow_setup: Sequence[SetupFn] = (),
    ) -> None:
        self.host = host
        # Extra routes for this emulator only (a user's own test endpoints).
        self._setups: dict[Service, list[SetupFn]] = {
            SENTINELHUB: [*SENTINELHUB_SETUP, *sentinelhub_setup],
            SPACEKNOW: [*SPACEKNOW_SETUP, *spaceknow_setup],
        }
        self._ports = {SENTINELHUB: sentinelhub_port, SPACEKNOW: spaceknow_port}
        self.state = EmulatorState.create(
            seed=seed,
            clock_speed=clock_speed,
            faults=FaultInjector(faults, seed=seed),
            token_ttl=token_ttl,
            credentials=credentials,
        )
        self._runners: list[web.AppRunner] = []
        self._urls: dict[Service, str] = {}
        self._started = False

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Bind both services and start serving."""
        if self._started:
            raise RuntimeError("this Emulator was started already")
        self._started = True
        try:
            for service in (SENTINELHUB, SPACEKNOW):
                self._urls[service] = await self._serve(service)
        except BaseException:
            await self.stop()
            raise

    async def _serve(self, service: Service) -> str:
        runner = web.AppRunner(
            build_app(service, self.state, self._setups[service]),
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.host, self._ports[service])
        await site.start()
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runners, self._runners = self._runners, []
        self._urls.clear()
        for runner in reversed(runners):
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses ---------------------------------------------------------------

    def _url(self, service: Service) -> str:
        try:
            return self._urls[service]
        except KeyError:
            raise RuntimeError(
                "the Emulator is not running: use `async with Emulator()` or `await emu.start()`"
            ) from None

    @property
    def sentinelhub_url(self) -> str:
        """Base URL of the Sentinel Hub service, e.g. ``http://127.0.0.1:54321``."""
        return self._url(SENTINELHUB)

    @property
    def sentinelhub_token_url(self) -> str:
        """Sentinel Hub's OAuth2 token endpoint."""
        return self._url(SENTINELHUB) + SH_TOKEN_PATH

    @property
    def spaceknow_url(self) -> str:
        """Base URL of the SpaceKnow service."""
        return self._url(SPACEKNOW)

    @property
    def spaceknow_auth_url(self) -> str:
        """SpaceKnow's (Auth0) login endpoint."""
        return self._url(SPACEKNOW) + SK_AUTH_PATH

    def info(self) -> dict[str, Any]:
        """URLs and credentials as a JSON-ready dict (what ``python -m`` prints)."""
        creds = self.credentials
        return {
            "sentinelhub_url": self.sentinelhub_url,
            "sentinelhub_token_url": self.sentinelhub_token_url,
            "spaceknow_url": self.spaceknow_url,
            "spaceknow_auth_url": self.spaceknow_auth_url,
            "credentials": {
                "sh_client_id": creds.sh_client_id,
                "sh_client_secret": creds.sh_client_secret,
                "sk_username": creds.sk_username,
                "sk_password": creds.sk_password,
                "sk_client_id": creds.sk_client_id,
            },
        }

    # -- shortcuts to the shared state -------------------------------------------

    @property
    def credentials(self) -> Credentials:
        """The credentials both token endpoints accept."""
        return self.state.credentials

    @property
    def clock(self) -> EmulatorClock:
        """The accelerated clock of the job state machines."""
        return self.state.clock

    @property
    def faults(self) -> FaultInjector:
        """Fault configuration and the queue of injected faults."""
        return self.state.faults

    @property
    def jobs(self) -> JobEngine:
        """Every job of both services."""
        return self.state.jobs

    @property
    def requests(self) -> list[RequestRecord]:
        """Every service request so far, oldest first (control routes excluded)."""
        return self.state.requests

    def token_requests(self, service: Service | None = None) -> int:
        """How many token requests ``service`` (or both) received."""
        return sum(
            1
            for r in self.state.requests
            if (service is None or r.service == service) and is_auth_path(r.service, r.path)
        )

    def expire_tokens(self, service: Service | None = None) -> int:
        """Make every issued token (of ``service``) invalid now; return how many."""
        return self.state.tokens.expire(service)

    def __repr__(self) -> str:
        urls = json.dumps(self._urls) if self._urls else "not running"
        return f"<Emulator {urls}>"

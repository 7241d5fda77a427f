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
from aiohttp.typedefs import Middleware

from eoclient.emulator.core import control, drop, s3, sample_jobs
from eoclient.emulator.core.auth import (
    SH_TOKEN_PATH,
    SK_AUTH_PATH,
    auth_middleware,
    is_auth_path,
    setup_sentinelhub_auth,
    setup_spaceknow_auth,
)
from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.deliveries import (
    Deliveries,
    LocalSink,
    RemoteSink,
    deliveries_of,
    flush_middleware,
    object_store,
)
from eoclient.emulator.core.faults import FaultConfig, FaultInjector
from eoclient.emulator.core.jobs import JobEngine
from eoclient.emulator.core.middleware import (
    error_shape_middleware,
    fault_middleware,
    record_middleware,
)
from eoclient.emulator.core.objects import ObjectStore
from eoclient.emulator.core.routing import CONTRACTS_KEY, contract_middleware
from eoclient.emulator.core.state import DEPLOYMENT_KEY, EmulatorState, RequestRecord, SetupFn, bind_app
from eoclient.emulator.core.tokens import S3, SENTINELHUB, SPACEKNOW, Credentials, Service
from eoclient.emulator.sentinelhub import async_process as sh_async_process
from eoclient.emulator.sentinelhub import batch as sh_batch
from eoclient.emulator.sentinelhub import batch_statistics as sh_batch_statistics
from eoclient.emulator.sentinelhub import byoc as sh_byoc
from eoclient.emulator.sentinelhub import catalog as sh_catalog
from eoclient.emulator.sentinelhub import dataimport as sh_dataimport
from eoclient.emulator.sentinelhub import deployments as sh_deployments
from eoclient.emulator.sentinelhub import metadata as sh_metadata
from eoclient.emulator.sentinelhub import process as sh_process
from eoclient.emulator.sentinelhub import statistics as sh_statistics
from eoclient.emulator.sentinelhub import tiling_grids as sh_tiling_grids
from eoclient.emulator.sentinelhub import zarr_import as sh_zarr_import
from eoclient.emulator.spaceknow import credits as sk_credits
from eoclient.emulator.spaceknow import datacube as sk_datacube
from eoclient.emulator.spaceknow import imagery as sk_imagery
from eoclient.emulator.spaceknow import kraken as sk_kraken
from eoclient.emulator.spaceknow import pipelines as sk_pipelines
from eoclient.emulator.spaceknow import users as sk_users

__all__ = ["SENTINELHUB_SETUP", "SPACEKNOW_SETUP", "Emulator", "build_app", "build_s3_app"]

SENTINELHUB_SETUP: Final[list[SetupFn]] = [
    sample_jobs.setup,
    sh_process.setup,
    sh_statistics.setup,
    sh_catalog.setup,
    sh_byoc.setup,
    sh_dataimport.setup,
    sh_tiling_grids.setup,
    sh_async_process.setup,
    sh_batch.setup,
    sh_batch_statistics.setup,
    sh_zarr_import.setup,
    sh_metadata.setup,
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


def _service_app(
    service: Service,
    state: EmulatorState,
    auth: Middleware,
    *,
    flush: bool = False,
    inner: Sequence[Middleware] = (),
) -> web.Application:
    """An app serving ``service``: the middlewares every app has, around the service's ``auth``.

    ``inner`` run last, inside the route contract (their refusals are answered in the route's shape).
    """
    app = web.Application(
        middlewares=[
            *([flush_middleware] if flush else []),
            record_middleware,
            fault_middleware,
            error_shape_middleware,
            auth,
            contract_middleware,
            *inner,
        ],
        client_max_size=_CLIENT_MAX_SIZE,
    )
    bind_app(app, state, service)
    app[CONTRACTS_KEY] = {}
    app.on_response_prepare.append(drop.on_response_prepare)
    return app


def build_app(
    service: Service,
    state: EmulatorState,
    setups: Sequence[SetupFn] | None = None,
    *,
    deployment: str = sh_deployments.MAIN,
) -> web.Application:
    """One service's app: middlewares, token endpoints, control routes, then ``setups``
    (default: :data:`SENTINELHUB_SETUP` or :data:`SPACEKNOW_SETUP`).

    A Sentinel Hub app plays ``deployment`` (a public URL of
    :data:`~eoclient.emulator.sentinelhub.deployments.DEPLOYMENTS`): it refuses
    the collections another deployment serves.
    """
    sentinelhub = service == SENTINELHUB
    app = _service_app(
        service,
        state,
        auth_middleware,
        flush=sentinelhub,
        inner=[sh_deployments.deployment_middleware] if sentinelhub else [],
    )
    if sentinelhub:
        app[DEPLOYMENT_KEY] = deployment
        setup_sentinelhub_auth(app, state)
        default = SENTINELHUB_SETUP
    else:
        setup_spaceknow_auth(app, state)
        default = SPACEKNOW_SETUP
    control.setup(app, state)
    for setup in default if setups is None else setups:
        setup(app, state)
    return app


def build_s3_app(state: EmulatorState) -> web.Application:
    """The object store's app: its S3 API subset (:mod:`eoclient.emulator.core.s3`)."""
    app = _service_app(S3, state, s3.auth_middleware)
    s3.setup(app, state)
    return app


class Emulator:
    """Both services on loopback, each on its own port.

    ``credentials`` overrides what the token endpoints (and the object
    store) accept; ``sentinelhub_setup``/``spaceknow_setup`` add routes after
    the built-in ones.

    Jobs deliver their outputs into object storage as they progress: by
    default the emulator's own store, served through its S3 API subset at
    :attr:`s3_url` (keys ``credentials.s3_access_key``/``s3_secret_key``,
    region ``credentials.s3_region``); with ``s3_endpoint`` a real S3 server
    instead (its buckets must exist; ``s3_access_key``, ``s3_secret_key`` and
    ``s3_region`` sign the writes). ``s3_port`` fixes the own store's port.

    Sentinel Hub plays its deployments: :attr:`sentinelhub_url` is the main
    one, and US-West and Creodias listen on ports of their own
    (:attr:`deployment_urls`), sharing the one state (tokens, jobs, clock); each
    refuses the collections another one serves
    (:mod:`eoclient.emulator.sentinelhub.deployments`). ``deployment_ports``
    fixes their ports (by public URL).

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
        s3_port: int = 0,
        s3_endpoint: str | None = None,
        s3_access_key: str | None = None,
        s3_secret_key: str | None = None,
        s3_region: str | None = None,
        deployment_ports: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self._s3_port = s3_port
        self._deployment_ports = dict(deployment_ports or {})
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
        creds = self.state.credentials
        sink: LocalSink | RemoteSink = LocalSink(object_store(self.state))
        if s3_endpoint is not None:
            sink = RemoteSink(
                s3_endpoint,
                s3_access_key or creds.s3_access_key,
                s3_secret_key or creds.s3_secret_key,
                s3_region or creds.s3_region,
            )
        state = self.state
        self._deliveries = deliveries_of(state, lambda: Deliveries(state.clock, state.faults, sink))
        self.s3_endpoint = s3_endpoint
        self._runners: list[web.AppRunner] = []
        self._urls: dict[Service, str] = {}
        self._deployment_urls: dict[str, str] = {}
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
            self._deployment_urls[sh_deployments.MAIN] = self._urls[SENTINELHUB]
            for deployment in sh_deployments.DEPLOYMENTS[1:]:
                app = build_app(SENTINELHUB, self.state, self._setups[SENTINELHUB], deployment=deployment)
                port = self._deployment_ports.get(deployment, 0)
                self._deployment_urls[deployment] = await self._serve_app(app, port)
            self._urls[S3] = await self._serve_app(build_s3_app(self.state), self._s3_port)
            await self._deliveries.start()
        except BaseException:
            await self.stop()
            raise

    async def _serve(self, service: Service) -> str:
        return await self._serve_app(
            build_app(service, self.state, self._setups[service]), self._ports[service]
        )

    async def _serve_app(self, app: web.Application, port: int) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.host, port)
        await site.start()
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        runners, self._runners = self._runners, []
        self._urls.clear()
        self._deployment_urls.clear()
        await self._deliveries.stop()
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
    def deployment_urls(self) -> dict[str, str]:
        """Where each Sentinel Hub deployment listens, by its public URL (the main one included).

        What a client's ``deployments=`` takes: ``SentinelHub(base_url=emu.sentinelhub_url,
        deployments=emu.deployment_urls, ...)`` routes a Landsat request to the US-West listener.
        """
        self._url(SENTINELHUB)  # not running: say so
        return dict(self._deployment_urls)

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

    @property
    def s3_url(self) -> str:
        """Base URL of the emulator's own object store (its S3 API subset, path-style)."""
        return self._url(S3)

    @property
    def objects(self) -> ObjectStore:
        """The emulator's own object store (where jobs deliver unless ``s3_endpoint`` is set)."""
        return object_store(self.state)

    @property
    def deliveries(self) -> Deliveries:
        """What the jobs deliver, and where (``await emu.deliveries.flush()`` writes what is due now)."""
        return self._deliveries

    def info(self) -> dict[str, Any]:
        """URLs and credentials as a JSON-ready dict (what ``python -m`` prints)."""
        creds = self.credentials
        return {
            "sentinelhub_url": self.sentinelhub_url,
            "sentinelhub_token_url": self.sentinelhub_token_url,
            "sentinelhub_deployments": self.deployment_urls,
            "spaceknow_url": self.spaceknow_url,
            "spaceknow_auth_url": self.spaceknow_auth_url,
            "s3_url": self.s3_url,
            "s3_delivery_endpoint": self.s3_endpoint or self.s3_url,
            "credentials": {
                "sh_client_id": creds.sh_client_id,
                "sh_client_secret": creds.sh_client_secret,
                "sk_username": creds.sk_username,
                "sk_password": creds.sk_password,
                "sk_client_id": creds.sk_client_id,
                "s3_access_key": creds.s3_access_key,
                "s3_secret_key": creds.s3_secret_key,
                "s3_region": creds.s3_region,
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

"""The state shared by both emulated services, and how handlers reach it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aiohttp import web

from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.faults import FaultInjector
from eoclient.emulator.core.jobs import JobEngine
from eoclient.emulator.core.tokens import Credentials, Service, TokenStore

__all__ = [
    "DEPLOYMENT_KEY",
    "PUBLIC_PATHS_KEY",
    "SERVICE_KEY",
    "STATE_KEY",
    "EmulatorState",
    "RequestRecord",
    "SetupFn",
    "bind_app",
    "get_state",
]

T = TypeVar("T")


@dataclass
class RequestRecord:
    """One request as the emulator saw it.

    ``time`` is real epoch seconds; ``status`` is filled in once answered (it
    stays ``None`` if the handler failed mid-stream); ``fault`` names the fault
    applied to it, if any (``"rate_limit"``, ``"drop"``, ``"latency"``, ...);
    ``body`` holds the raw bytes of JSON request bodies (for contract tests);
    ``headers`` the request headers except ``Authorization``; ``deployment``
    the public URL of the Sentinel Hub deployment whose listener answered
    (``None`` for the other services).
    """

    service: Service
    method: str
    path: str
    query: str
    has_bearer: bool
    time: float
    status: int | None = None
    fault: str | None = None
    content_type: str = ""
    body: bytes | None = None  # JSON request bodies only
    headers: dict[str, str] = field(default_factory=dict)  # Authorization left out
    deployment: str | None = None


@dataclass
class EmulatorState:
    """Everything both apps share: clock, faults, tokens, jobs, RNG, request log.

    ``stores`` is room for the service modules' own data (BYOC collections,
    uploaded tiles, ...); use :meth:`store` to get-or-create an entry.
    """

    clock: EmulatorClock
    faults: FaultInjector
    tokens: TokenStore
    jobs: JobEngine
    rng: random.Random
    credentials: Credentials
    requests: list[RequestRecord] = field(default_factory=list)
    stores: dict[str, Any] = field(default_factory=dict)
    in_flight: int = 0  # service requests (not token requests) being answered now
    max_in_flight: int = 0  # the most at once since the start or the last reset of the stats

    @classmethod
    def create(
        cls,
        *,
        seed: int = 0,
        clock_speed: float = 1.0,
        faults: FaultInjector | None = None,
        token_ttl: float = 3600.0,
        credentials: Credentials | None = None,
    ) -> EmulatorState:
        """Build a fresh state; every random choice derives from ``seed``."""
        clock = EmulatorClock(clock_speed)
        rng = random.Random(seed)
        return cls(
            clock=clock,
            faults=faults if faults is not None else FaultInjector(seed=seed),
            tokens=TokenStore(token_ttl, seed=seed),
            jobs=JobEngine(clock, random.Random(rng.getrandbits(64))),
            rng=rng,
            credentials=credentials or Credentials(),
        )

    def store(self, name: str, factory: Callable[[], T]) -> T:
        """Return ``stores[name]``, creating it with ``factory()`` the first time."""
        if name not in self.stores:
            self.stores[name] = factory()
        return cast(T, self.stores[name])


SetupFn = Callable[[web.Application, EmulatorState], None]
"""What a service module contributes: ``setup(app, state)`` adds its routes."""

STATE_KEY = web.AppKey("state", EmulatorState)
SERVICE_KEY: web.AppKey[Service] = web.AppKey("service")
PUBLIC_PATHS_KEY: web.AppKey[set[str]] = web.AppKey("public_paths")
DEPLOYMENT_KEY: web.AppKey[str] = web.AppKey("deployment")
"""The public URL of the Sentinel Hub deployment an app plays (Sentinel Hub apps only)."""


def bind_app(app: web.Application, state: EmulatorState, service: Service) -> None:
    """Make ``app`` serve ``service`` from ``state`` (what :func:`get_state` and the middlewares read)."""
    app[STATE_KEY] = state
    app[SERVICE_KEY] = service
    app[PUBLIC_PATHS_KEY] = set()


def get_state(request: web.Request) -> EmulatorState:
    """The :class:`EmulatorState` of the app serving ``request``."""
    return request.app[STATE_KEY]

"""Fault injection: what goes wrong, and for which request.

Two sources, consulted in this order for every service request:

1. the deterministic queue filled by :meth:`FaultInjector.inject` (exact tests:
   "the next 2 GETs under /api/v1/process get a 503");
2. random faults drawn from :class:`FaultConfig` probabilities with a seeded
   ``random.Random``, so a failing run repeats exactly with the same seed (for
   the same order of requests).

This module only *decides*; :mod:`eoclient.emulator.core.middleware` acts.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Literal, get_args

from eoclient.emulator.core.tokens import Service

__all__ = ["FaultConfig", "FaultDecision", "FaultInjector", "FaultKind", "InjectedFault"]

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "server_error_after",
    "html_error",
    "drop",
    "latency",
    "token_expiry",
    "late",
]
_KINDS: frozenset[str] = frozenset(get_args(FaultKind))


@dataclass(frozen=True)
class FaultConfig:
    """Random faults applied to every service request of a run.

    Times are real seconds. ``rate_limit``, ``server_error`` and
    ``drop_mid_body`` are probabilities (their sum at most 1) drawn once per
    request; ``latency`` plus up to ``latency_jitter`` is slept before every
    request. Random 429s carry ``retry_after``; random 5xx carry no
    ``Retry-After`` and are ``text/html`` proxy pages when ``html_errors``.
    Token endpoints are spared unless ``include_auth`` is true. ``seed``
    defaults to the emulator's seed.
    """

    latency: float = 0.0
    latency_jitter: float = 0.0
    rate_limit: float = 0.0
    retry_after: float = 1.0
    server_error: float = 0.0
    server_error_status: int = 503
    html_errors: bool = False
    drop_mid_body: float = 0.0
    include_auth: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("rate_limit", "server_error", "drop_mid_body"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} is a probability, got {value!r}")
        if self.rate_limit + self.server_error + self.drop_mid_body > 1.0:
            raise ValueError("FaultConfig probabilities must not add up to more than 1")
        if self.latency < 0 or self.latency_jitter < 0 or self.retry_after < 0:
            raise ValueError("FaultConfig times must not be negative")
        if not 500 <= self.server_error_status <= 599:
            raise ValueError("FaultConfig.server_error_status must be a 5xx status")


@dataclass
class InjectedFault:
    """A queued fault; ``remaining`` counts the requests it still applies to."""

    kind: FaultKind
    remaining: int
    service: Service | None = None
    path_prefix: str | None = None
    method: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float = 0.1

    def matches(self, service: Service, method: str, path: str, is_auth: bool) -> bool:
        """Whether this fault applies to the given request."""
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path_prefix is not None:
            return path.startswith(self.path_prefix)
        # Without an explicit path, token requests are spared: a test that
        # injects "the next 503" means the API call, not the client's login.
        return not is_auth


@dataclass(frozen=True)
class FaultDecision:
    """What the middleware does to one request.

    ``latency`` (real seconds) is slept first; ``kind`` is ``None`` when the
    request is otherwise handled normally. ``retry_after`` is in real seconds,
    ``None`` meaning "send no Retry-After header".
    """

    latency: float = 0.0
    kind: FaultKind | None = None
    status: int | None = None
    retry_after: float | None = None


_NO_FAULT = FaultDecision()


class FaultInjector:
    """Holds the :class:`FaultConfig` of a run plus the queue of injected faults."""

    def __init__(self, config: FaultConfig | None = None, *, seed: int = 0) -> None:
        self._config = config or FaultConfig()
        self._rng = random.Random(self._config.seed if self._config.seed is not None else seed)
        self._queue: deque[InjectedFault] = deque()

    @property
    def config(self) -> FaultConfig:
        """The random-fault configuration; assign a new one to change it mid-run."""
        return self._config

    @config.setter
    def config(self, value: FaultConfig) -> None:
        self._config = value
        if value.seed is not None:
            self._rng = random.Random(value.seed)

    def inject(
        self,
        kind: FaultKind,
        *,
        count: int = 1,
        service: Service | None = None,
        path_prefix: str | None = None,
        method: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        seconds: float = 0.1,
    ) -> InjectedFault:
        """Queue a fault for the next ``count`` matching requests.

        ``kind``: ``"rate_limit"`` (429, ``status`` overrides), ``"server_error"``
        (JSON 5xx, default status from the config), ``"server_error_after"``
        (the handler runs — a create creates — and then the JSON 5xx is
        answered instead of its response: a gateway that gave up on a request
        the service completed), ``"html_error"`` (a proxy's ``text/html``
        page, default 502), ``"drop"`` (the handler runs, then the connection
        is dropped mid-body), ``"latency"`` (``seconds`` real seconds, then answered
        normally), ``"token_expiry"`` (every token of the service expires before
        the request is checked, so it gets 401), ``"late"`` (not a request
        fault: the next ``count`` objects a job delivers whose ``/<bucket>/<key>``
        starts with ``path_prefix`` become visible ``seconds`` *emulated*
        seconds after they are written). ``retry_after`` (real seconds)
        is sent on 429 and 5xx; ``None`` omits the header. On the object store
        (``service="s3"``) a 5xx or ``rate_limit`` is a 503 ``SlowDown``.

        A request takes at most one queued fault: the oldest that matches. Token
        endpoints match only when ``path_prefix`` selects them or the config's
        ``include_auth`` is true.
        """
        if kind not in _KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        if seconds < 0 or (retry_after is not None and retry_after < 0):
            raise ValueError("fault times must not be negative")
        fault = InjectedFault(
            kind=kind,
            remaining=count,
            service=service,
            path_prefix=path_prefix,
            method=method,
            status=status,
            retry_after=retry_after,
            seconds=seconds,
        )
        self._queue.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every queued fault (random faults stay configured)."""
        self._queue.clear()

    @property
    def pending(self) -> int:
        """How many requests the queued faults will still hit."""
        return sum(f.remaining for f in self._queue)

    def decide(self, service: Service, method: str, path: str, *, is_auth: bool) -> FaultDecision:
        """Choose the fault (if any) for one request; consumes the queue and the RNG."""
        queued = self._take_queued(service, method, path, is_auth)
        if queued is not None:
            return queued
        if is_auth and not self._config.include_auth:
            return _NO_FAULT
        return self._draw_random()

    def take_late(self, path: str) -> float | None:
        """Emulated seconds a delivery to ``path`` (``/<bucket>/<key>``) is held back by a ``late`` fault."""
        for fault in self._queue:
            if fault.kind == "late" and (fault.path_prefix is None or path.startswith(fault.path_prefix)):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._queue.remove(fault)
                return fault.seconds
        return None

    def _take_queued(self, service: Service, method: str, path: str, is_auth: bool) -> FaultDecision | None:
        include_auth = self._config.include_auth
        for fault in self._queue:
            if fault.kind == "late":
                continue  # consumed by deliveries (take_late), never by requests
            if fault.matches(service, method, path, is_auth and not include_auth):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._queue.remove(fault)
                if fault.kind == "latency":
                    return FaultDecision(latency=fault.seconds)
                return FaultDecision(kind=fault.kind, status=fault.status, retry_after=fault.retry_after)
        return None

    def _draw_random(self) -> FaultDecision:
        cfg = self._config
        latency = cfg.latency
        if cfg.latency_jitter > 0:
            latency += self._rng.uniform(0.0, cfg.latency_jitter)
        kind: FaultKind | None = None
        status: int | None = None
        if cfg.rate_limit or cfg.server_error or cfg.drop_mid_body:
            # One draw per request keeps the sequence stable for a given config.
            u = self._rng.random()
            if u < cfg.rate_limit:
                kind, status = "rate_limit", 429
            elif u < cfg.rate_limit + cfg.server_error:
                kind = "html_error" if cfg.html_errors else "server_error"
                status = cfg.server_error_status
            elif u < cfg.rate_limit + cfg.server_error + cfg.drop_mid_body:
                kind = "drop"
        if kind is None and latency == 0.0:
            return _NO_FAULT
        retry_after = cfg.retry_after if kind == "rate_limit" else None
        return FaultDecision(latency=latency, kind=kind, status=status, retry_after=retry_after)

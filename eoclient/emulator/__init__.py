"""A stateful local emulator of Sentinel Hub and SpaceKnow, for tests and demos.

Two real ``aiohttp.web`` apps on loopback, each on its own ephemeral port (the
real services live on different hosts)::

    async with Emulator(seed=1, clock_speed=1000.0) as emu:
        emu.sentinelhub_url, emu.sentinelhub_token_url
        emu.spaceknow_url, emu.spaceknow_auth_url
        emu.credentials                       # what the token endpoints accept
        emu.faults.inject("rate_limit", count=2, retry_after=0.01)
        emu.expire_tokens("spaceknow")
        emu.clock.advance(600)                # jobs jump 10 emulated minutes
        emu.token_requests("sentinelhub")     # how many logins so far

From a shell: ``python -m eoclient.emulator --port 8080`` prints one JSON line
with the URLs and credentials, then serves until SIGINT/SIGTERM. In pytest, the
``eo_emulator`` fixture (see :mod:`eoclient.emulator.pytest_plugin`) yields a
started emulator, configured by ``@pytest.mark.eo_emulator(seed=...,
clock_speed=..., faults=FaultConfig(...), token_ttl=...)``.

What every request goes through (outermost first): request log
(``emu.requests``), faults (the :meth:`FaultInjector.inject` queue first, else
:class:`FaultConfig` random faults from a seeded RNG), error shaping (aiohttp's
plain-text 404/405 and handler crashes become the service's JSON error), the
bearer check (a valid unexpired token of *that* service, except public paths
and ``/_emulator/`` control routes), the route's declared contract (an unknown
query parameter or body field is a 400, :mod:`eoclient.emulator.core.routing`).
Tokens expire on the real clock after ``token_ttl`` seconds; jobs run on the
accelerated :class:`EmulatorClock`.
Control routes for an emulator in another process (health, expire tokens,
advance the clock, inject/clear faults) are listed in
:mod:`eoclient.emulator.core.control`. ``Emulator(sentinelhub_setup=[...],
spaceknow_setup=[...])`` adds a user's own routes to one emulator.

Jobs deliver their outputs into object storage as they progress on the
clock (:mod:`eoclient.emulator.sentinelhub.outputs` lists the keys): by
default into the emulator's own store, served through the S3 API subset of
:mod:`eoclient.emulator.core.s3` at ``emu.s3_url`` (path-style; SigV4 with
``emu.credentials.s3_access_key``; any S3 client works, e.g. boto3 with
``endpoint_url=emu.s3_url``); with ``Emulator(s3_endpoint=URL, s3_access_key=...,
s3_secret_key=..., s3_region=...)`` or ``--s3-endpoint URL`` into a real S3
server instead, whose buckets must exist (one that does not fails the job).
Store faults use the same injector: ``emu.faults.inject("server_error",
service="s3")`` (503 SlowDown), ``"drop"`` (cut mid-object), ``"late"``
(``seconds`` emulated seconds before a delivery appears).

Needs aiohttp >= 3.14 (``web.RequestKey`` and the writer's ``on_body_write``
hook, used to cut streamed bodies).

Sample job API (Sentinel Hub app, SH bearer required), used to test the
client's generic job handle; full description in
:mod:`eoclient.emulator.core.sample_jobs`::

    POST /_sample/jobs                {"phases": [["QUEUED", 2], ["RUNNING", 10]],
                                       "outcome": "SUCCEEDED"|"FAILED"|"CANCELLED",
                                       "error": "...", "results": 5, "pageSize": 2}
                                      -> 201 {"id", "status", "progress", "nextTry", ...}
    GET  /_sample/jobs/{id}           -> {"id", "status", "progress", "message",
                                          "nextTry" (real seconds), "error"}
    POST /_sample/jobs/{id}/cancel    -> status "CANCELLED" (409 if terminal)
    GET  /_sample/jobs/{id}/results?cursor=C -> {"items": [...], "cursor": next|null}

Adding a service module
-----------------------
Write ``eoclient/emulator/<family>.py`` with::

    def setup(app: web.Application, state: EmulatorState) -> None:
        add_route(app, "POST", "/api/v1/process", _process)
        add_route(app, "GET", "/api/v2/batch/tilinggrids", _list, query=("count", "viewtoken"))

(importing from the submodules, e.g. ``eoclient.emulator.core.errors``, never from
the package itself, which imports ``server.py``) and append ``setup`` to
:data:`~eoclient.emulator.server.SENTINELHUB_SETUP` or
:data:`~eoclient.emulator.server.SPACEKNOW_SETUP` in ``server.py``. Inside a
handler:

* ``get_state(request)`` is the shared :class:`EmulatorState`: ``clock``,
  ``jobs`` (:class:`JobEngine`, phases named with the service's own statuses),
  ``rng`` (seeded), ``store(name, factory)`` for the module's own data;
* register every route with :func:`eoclient.emulator.core.routing.add_route`, declaring
  the query parameters the real operation takes (and, for SpaceKnow's flat JSON
  bodies, its fields): anything else is refused with a 400 in the service's
  shape before the handler runs, so the emulator never accepts what the
  service refuses;
* every route is bearer-protected automatically; ``app[PUBLIC_PATHS_KEY].add(path)``
  makes one public; ``request[TOKEN_KEY]`` is the caller's token;
* answer errors with :func:`sh_error` / :func:`sk_error` (or raise
  ``web.HTTPNotFound(text="...")``, which is reshaped);
* faults, including dropping the connection mid-body, apply automatically,
  also to ``web.StreamResponse`` streams: write large bodies chunk by chunk
  (never build them in memory) and let the ``ConnectionError`` a write raises
  after a drop propagate (the fault middleware expects it);
* hints such as ``nextTry`` or ``Retry-After`` for polling are emulated
  seconds converted with ``state.clock.to_real(...)``.
"""

from __future__ import annotations

from eoclient.emulator.core.auth import TOKEN_KEY, bearer_token
from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.errors import html_error, service_error, sh_error, sk_error
from eoclient.emulator.core.faults import FaultConfig, FaultInjector, FaultKind
from eoclient.emulator.core.jobs import Job, JobEngine, JobView, Phase
from eoclient.emulator.core.state import (
    PUBLIC_PATHS_KEY,
    SERVICE_KEY,
    STATE_KEY,
    EmulatorState,
    RequestRecord,
    SetupFn,
    get_state,
)
from eoclient.emulator.core.tokens import SENTINELHUB, SPACEKNOW, Credentials, Service, TokenStore
from eoclient.emulator.server import SENTINELHUB_SETUP, SPACEKNOW_SETUP, Emulator, build_app

__all__ = [
    "PUBLIC_PATHS_KEY",
    "SENTINELHUB",
    "SENTINELHUB_SETUP",
    "SERVICE_KEY",
    "SPACEKNOW",
    "SPACEKNOW_SETUP",
    "STATE_KEY",
    "TOKEN_KEY",
    "Credentials",
    "Emulator",
    "EmulatorClock",
    "EmulatorState",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "Job",
    "JobEngine",
    "JobView",
    "Phase",
    "RequestRecord",
    "Service",
    "SetupFn",
    "TokenStore",
    "bearer_token",
    "build_app",
    "get_state",
    "html_error",
    "service_error",
    "sh_error",
    "sk_error",
]

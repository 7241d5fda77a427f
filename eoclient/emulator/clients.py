"""Clients of an emulator: its URLs and credentials, and policies for its fast clock.

The one place that wires a :class:`~eoclient.SentinelHub` or
:class:`~eoclient.SpaceKnow` to an :class:`~eoclient.emulator.Emulator`; the
pytest plugin's fixtures, ``eoclient demo`` and the test suite all use it.
Client-side code: the emulator's server modules never import it.

Example::

    async with Emulator(seed=1, clock_speed=100.0) as emu:
        async with sentinelhub_client(emu) as sh, spaceknow_client(emu) as sk:
            ...
"""

from __future__ import annotations

from typing import Any, Final

from eoclient import PollPolicy, RetryPolicy, SentinelHub, SpaceKnow
from eoclient.emulator.server import Emulator
from eoclient.storage import StorageSettings

__all__ = ["CLIENT_POLL", "CLIENT_RETRY", "sentinelhub_client", "spaceknow_client"]

CLIENT_POLL: Final = PollPolicy(initial=0.01, multiplier=2.0, max_delay=0.5)
"""How these clients poll jobs by default: a job of the accelerated clock is done in moments."""
CLIENT_RETRY: Final = RetryPolicy(initial_backoff=0.01, max_backoff=0.5)
"""How these clients back off between retries by default (a ``Retry-After`` still wins)."""


def sentinelhub_client(emu: Emulator, **kwargs: Any) -> SentinelHub:
    """A :class:`~eoclient.SentinelHub` of ``emu`` (not yet opened: use ``async with``).

    Keyword arguments go to the client and win over the emulator's URLs and
    credentials (``client_secret="wrong"``) and over :data:`CLIENT_POLL` /
    :data:`CLIENT_RETRY`. Its ``storage`` is where the emulator delivers the
    jobs' outputs (its own S3 API, or the ``s3_endpoint`` it was given, with
    the emulator's S3 keys: pass ``storage=`` when that server wants others).
    It reaches the emulator's deployment listeners (``emu.deployment_urls``)
    as a client of Sentinel Hub reaches its deployments.
    """
    creds = emu.credentials
    storage = StorageSettings(
        endpoint=emu.s3_endpoint or emu.s3_url,
        access_key=creds.s3_access_key,
        secret_key=creds.s3_secret_key,
        region=creds.s3_region,
    )
    wired = {
        "client_id": creds.sh_client_id,
        "client_secret": creds.sh_client_secret,
        "base_url": emu.sentinelhub_url,
        "token_url": emu.sentinelhub_token_url,
        # Routed as on Sentinel Hub itself: a Landsat request goes to the US-West listener.
        "deployments": emu.deployment_urls,
        "storage": storage,
    }
    return SentinelHub(**_fast(wired, kwargs))


def spaceknow_client(emu: Emulator, **kwargs: Any) -> SpaceKnow:
    """A :class:`~eoclient.SpaceKnow` of ``emu`` (not yet opened: use ``async with``).

    Keyword arguments win as in :func:`sentinelhub_client` (``password="wrong"``).
    """
    creds = emu.credentials
    wired = {"username": creds.sk_username, "password": creds.sk_password, "client_id": creds.sk_client_id}
    wired.update(base_url=emu.spaceknow_url, auth_url=emu.spaceknow_auth_url)
    return SpaceKnow(**_fast(wired, kwargs))


def _fast(wired: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The client's arguments: what the caller gave, over the emulator's wiring and the fast policies."""
    return {"poll": CLIENT_POLL, "retry": CLIENT_RETRY, **wired, **given}

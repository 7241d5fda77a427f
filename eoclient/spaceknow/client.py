"""The SpaceKnow entry point."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoclient._client import BaseClient
from eoclient._http.auth import Auth0PasswordAuth
from eoclient._http.dialects import SPACEKNOW
from eoclient._http.ratelimit import RateLimit
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts, Transport
from eoclient._lazy import Service
from eoclient._polling import PollPolicy
from eoclient._redact import Secret
from eoclient.config import SpaceKnowSettings, spaceknow_settings
from eoclient.jobs import Job
from eoclient.spaceknow.pipelines import attach

if TYPE_CHECKING:  # the services' modules load on first use (eoclient._lazy.Service)
    from eoclient.spaceknow.credits import Credits
    from eoclient.spaceknow.datacube import Datacube
    from eoclient.spaceknow.imagery import Imagery
    from eoclient.spaceknow.kraken import Kraken
    from eoclient.spaceknow.users import Users

__all__ = ["SpaceKnow"]


class SpaceKnow(BaseClient):
    """Asynchronous SpaceKnow client; logs in with the Auth0 password grant.

    Credentials and URLs come from the arguments, else the ``SK_*`` environment
    variables, else the config file profile (see :mod:`eoclient.config`).

    Example::

        async with eoclient.SpaceKnow(username="me@example.com", password="...") as sk:
            info = await sk.request("POST", "/user/info", json={})
    """

    # The services: each made, its module imported, when first used (eoclient._lazy).
    imagery: Service[Imagery] = Service("eoclient.spaceknow.imagery", "Imagery")
    """Imagery (Ragnar): search, get-image, scene info, providers, ingest."""
    kraken: Service[Kraken] = Service("eoclient.spaceknow.kraken", "Kraken")
    """Kraken: map releases, dry runs, scene grouping, tiles."""
    datacube: Service[Datacube] = Service("eoclient.spaceknow.datacube", "Datacube")
    """Datacube: AoIs, catalogue, datapoints, products."""
    credits: Service[Credits] = Service("eoclient.spaceknow.credits", "Credits")
    """Credits: area checks, transactions, allocations, limits."""
    users: Service[Users] = Service("eoclient.spaceknow.users", "Users")
    """Users: info, Guardian accounts."""

    def __init__(
        self,
        username: str | None = None,
        password: str | Secret | None = None,
        *,
        client_id: str | None = None,
        base_url: str | None = None,
        auth_url: str | None = None,
        profile: str | None = None,
        config_file: str | Path | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
        poll: PollPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings: SpaceKnowSettings = spaceknow_settings(
            username=username,
            password=password,
            client_id=client_id,
            base_url=base_url,
            auth_url=auth_url,
            profile=profile,
            config_file=config_file,
        )
        auth = Auth0PasswordAuth(
            self.settings.username,
            self.settings.password,
            self.settings.auth_url,
            client_id=self.settings.client_id,
        )
        super().__init__(
            Transport(
                base_url=self.settings.base_url,
                dialect=SPACEKNOW,
                auth=auth,
                retry=retry,
                rate_limit=rate_limit,
                timeouts=timeouts,
                limits=limits,
                rng=rng,
            ),
            poll=poll,
            settings=self.settings,
        )

    def pipeline(self, pipeline_id: str, *, retrieve: str) -> Job[Any]:
        """Re-attach to a running pipeline from its id and its operation's retrieve path.

        Example::

            job = sk.pipeline("3g4PovfhGxmymQolpgvv", retrieve="/kraken/release/retrieve")
            result = await job
        """
        return attach(self.context, pipeline_id, retrieve=retrieve)

    def __repr__(self) -> str:
        return f"SpaceKnow(base_url={self.settings.base_url!r}, username={self.settings.username!r})"

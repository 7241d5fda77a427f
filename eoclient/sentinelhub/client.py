"""The Sentinel Hub entry point."""

from __future__ import annotations

import random
from pathlib import Path

from eoclient._client import BaseClient
from eoclient._http.auth import ClientCredentialsAuth
from eoclient._http.dialects import SENTINELHUB
from eoclient._http.ratelimit import RateLimit
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts, Transport
from eoclient._polling import PollPolicy
from eoclient._redact import Secret
from eoclient.config import SentinelHubSettings, sentinelhub_settings
from eoclient.sentinelhub.byoc import BYOC
from eoclient.sentinelhub.catalog import Catalog
from eoclient.sentinelhub.tiling_grids import TilingGrids

__all__ = ["SentinelHub"]


class SentinelHub(BaseClient):
    """Asynchronous Sentinel Hub client (also Copernicus Data Space and other deployments).

    Credentials and URLs come from the arguments, else the ``SH_*`` environment
    variables, else the config file profile (see :mod:`eoclient.config`).

    Example::

        async with eoclient.SentinelHub(client_id="...", client_secret="...") as sh:
            resp = await sh.request("GET", "/api/v1/catalog/1.0.0/")
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        profile: str | None = None,
        config_file: str | Path | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
        poll: PollPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings: SentinelHubSettings = sentinelhub_settings(
            client_id=client_id,
            client_secret=client_secret,
            base_url=base_url,
            token_url=token_url,
            profile=profile,
            config_file=config_file,
        )
        auth = ClientCredentialsAuth(
            self.settings.client_id, self.settings.client_secret, self.settings.token_url
        )
        super().__init__(
            Transport(
                base_url=self.settings.base_url,
                dialect=SENTINELHUB,
                auth=auth,
                retry=retry,
                rate_limit=rate_limit,
                timeouts=timeouts,
                limits=limits,
                rng=rng,
            ),
            poll=poll,
        )
        self.catalog = Catalog(self.transport)
        """STAC catalog: search, collections, items."""
        self.byoc = BYOC(self.transport)
        """Bring Your Own COG: collections, tiles, files."""
        self.tiling_grids = TilingGrids(self.transport)
        """Batch tiling grids."""

    # -- Process and Statistical API methods (one-shot requests) go here --

    def __repr__(self) -> str:
        return f"SentinelHub(base_url={self.settings.base_url!r}, client_id={self.settings.client_id!r})"

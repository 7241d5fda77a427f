"""How the peers reach the emulator: sentinelhub-py configuration, a plain bearer token for raw HTTP.

Imported only by the children that run a peer, so that the benchmark runner
itself (and eoclient's side of every scenario) works without sentinelhub-py.
"""

from __future__ import annotations

import functools
import os
from typing import Any


def sentinelhub_config(info: dict[str, Any]) -> Any:
    """An ``SHConfig`` aimed at the emulator (its Catalog and Process URLs derive from ``sh_base_url``)."""
    # The emulator speaks plain HTTP on loopback; oauthlib refuses that unless told otherwise.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from sentinelhub import SHConfig  # noqa: PLC0415 - the peer is optional

    creds = info["credentials"]
    return SHConfig(
        sh_client_id=creds["sh_client_id"],
        sh_client_secret=creds["sh_client_secret"],
        sh_base_url=info["sentinelhub_url"],
        sh_token_url=info["sentinelhub_token_url"],
    )


@functools.cache
def sentinel2_l2a(base_url: str) -> Any:
    """``DataCollection.SENTINEL2_L2A`` bound to the emulator.

    sentinelhub-py's predefined collections carry the URL of the live service
    and win over ``SHConfig.sh_base_url``; a copy with the emulator's URL is
    what a user of another deployment does too.
    """
    from sentinelhub import DataCollection  # noqa: PLC0415 - the peer is optional

    return DataCollection.SENTINEL2_L2A.define_from("EMULATOR_SENTINEL2_L2A", service_url=base_url)


def unpaced(client: Any) -> None:
    """Turn off the fixed spacing of sentinelhub-py's download client (a diagnostic, not its default).

    ``SentinelHubDownloadClient`` starts requests at least
    ``0.05 s x number_of_download_processes`` apart, however many threads it
    has; this shows what its transport does without that pacing.
    """
    from sentinelhub.download.rate_limit import SentinelHubRateLimit  # noqa: PLC0415

    client.rate_limit = SentinelHubRateLimit(num_processes=1, minimum_wait_time=0.0)


def bearer_token(info: dict[str, Any]) -> str:
    """A token from the emulator's token endpoint (client credentials grant), for raw HTTP clients."""
    import requests  # noqa: PLC0415 - a peer's dependency, not eoclient's

    creds = info["credentials"]
    form = {
        "grant_type": "client_credentials",
        "client_id": creds["sh_client_id"],
        "client_secret": creds["sh_client_secret"],
    }
    resp = requests.post(info["sentinelhub_token_url"], data=form, timeout=30)
    resp.raise_for_status()
    return str(resp.json()["access_token"])

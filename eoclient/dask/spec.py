"""How each worker builds its client: a picklable recipe that never shows its secret.

A :class:`ClientSpec` travels to the scheduler and to every worker (inside
the worker plugin). Credentials given to it are kept as
:class:`~eoclient._redact.Secret` (``repr`` shows ``'***'``); left out, each
worker reads them from its own environment or config file, as the client
does on one machine — then no secret leaves the worker's host at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from eoclient._client import BaseClient
from eoclient._http.ratelimit import RateLimit
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Timeouts
from eoclient._redact import Secret, register_secret
from eoclient.errors import ValidationError

__all__ = ["ClientSpec"]

Service = Literal["sentinelhub", "spaceknow"]


@dataclass(frozen=True)
class ClientSpec:
    """The client each worker opens: service, URLs, credentials and transport settings.

    ``user`` is Sentinel Hub's OAuth client id or SpaceKnow's username,
    ``secret`` the client secret or password (``None`` for both: from the
    worker's ``SH_*``/``SK_*`` environment or config file). ``rate_limit`` is
    each worker's own pace; the account's pace across the cluster is the
    :class:`~eoclient.dask.AccountLimits` of the run.
    """

    service: Service = "sentinelhub"
    base_url: str | None = None
    auth_url: str | None = None
    user: str | None = None
    secret: Secret | None = field(default=None, repr=False)
    profile: str | None = None
    retry: RetryPolicy | None = None
    rate_limit: RateLimit | None = None
    timeouts: Timeouts | None = None
    limits: ConnectionLimits | None = None

    def __post_init__(self) -> None:
        if self.service not in ("sentinelhub", "spaceknow"):
            raise ValidationError("service", f"must be 'sentinelhub' or 'spaceknow', got {self.service!r}")
        if isinstance(self.secret, str):
            object.__setattr__(self, "secret", Secret(self.secret))  # a plain string never stays in the spec

    @classmethod
    def sentinelhub(
        cls,
        client_id: str | None = None,
        client_secret: str | Secret | None = None,
        *,
        base_url: str | None = None,
        token_url: str | None = None,
        profile: str | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
    ) -> ClientSpec:
        """A Sentinel Hub client (arguments as :class:`~eoclient.SentinelHub`'s)."""
        secret = Secret(client_secret) if isinstance(client_secret, str) else client_secret
        return cls(
            "sentinelhub",
            base_url,
            token_url,
            client_id,
            secret,
            profile,
            retry,
            rate_limit,
            timeouts,
            limits,
        )

    @classmethod
    def spaceknow(
        cls,
        username: str | None = None,
        password: str | Secret | None = None,
        *,
        base_url: str | None = None,
        auth_url: str | None = None,
        profile: str | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        timeouts: Timeouts | None = None,
        limits: ConnectionLimits | None = None,
    ) -> ClientSpec:
        """A SpaceKnow client (arguments as :class:`~eoclient.SpaceKnow`'s)."""
        secret = Secret(password) if isinstance(password, str) else password
        return cls(
            "spaceknow", base_url, auth_url, username, secret, profile, retry, rate_limit, timeouts, limits
        )

    def build(self) -> BaseClient:
        """A new (not yet opened) client of this spec."""
        if self.secret is not None:
            # Unpickled on a worker, the secret is not yet known to this process's log scrubbing.
            register_secret(self.secret.reveal())
        if self.service == "sentinelhub":
            from eoclient.sentinelhub.client import SentinelHub  # noqa: PLC0415 - only the service in use

            return SentinelHub(
                self.user,
                self.secret,
                base_url=self.base_url,
                token_url=self.auth_url,
                profile=self.profile,
                retry=self.retry,
                rate_limit=self.rate_limit,
                timeouts=self.timeouts,
                limits=self.limits,
            )
        from eoclient.spaceknow.client import SpaceKnow  # noqa: PLC0415

        return SpaceKnow(
            self.user,
            self.secret,
            base_url=self.base_url,
            auth_url=self.auth_url,
            profile=self.profile,
            retry=self.retry,
            rate_limit=self.rate_limit,
            timeouts=self.timeouts,
            limits=self.limits,
        )

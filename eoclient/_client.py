"""What every service client shares: the transport's lifecycle and raw requests."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from eoclient._checks import check_instance
from eoclient._context import ServiceContext
from eoclient._http.retry import RetryPolicy
from eoclient._http.transport import ConnectionLimits, Response, Timeouts, Transport
from eoclient._polling import PollPolicy
from eoclient.jobs import Job, resume_job

__all__ = ["BaseClient"]


class BaseClient:
    """Owns one :class:`Transport` (one aiohttp session); use with ``async with``.

    The settings objects it is given (``retry=``, ``timeouts=``, ``limits=``,
    ``poll=``) must be of their classes: a dict or a number there is a
    :class:`~eoclient.errors.ValidationError` naming the argument, raised
    here rather than as an ``AttributeError`` on the first request.
    """

    def __init__(self, transport: Transport, *, poll: PollPolicy | None = None, settings: Any = None) -> None:
        check_instance("retry", transport.retry, RetryPolicy)
        check_instance("timeouts", transport.timeouts, Timeouts)
        check_instance("limits", transport.limits, ConnectionLimits)
        if poll is not None:
            check_instance("poll", poll, PollPolicy)
        self._transport = transport
        self._context: ServiceContext[Any] = ServiceContext(transport, poll or PollPolicy(), settings)

    @property
    def context(self) -> ServiceContext[Any]:
        """What this client's families share: transport, poll policy, service settings."""
        return self._context

    @property
    def poll_policy(self) -> PollPolicy:
        """The cadence new Jobs start with (assign a :class:`PollPolicy` to change it)."""
        return self._context.poll

    @poll_policy.setter
    def poll_policy(self, value: PollPolicy) -> None:
        check_instance("poll_policy", value, PollPolicy)
        self._context.poll = value

    @property
    def transport(self) -> Transport:
        """The transport core (for service modules and advanced use)."""
        return self._transport

    @property
    def service(self) -> str:
        """The service this client talks to: ``"sentinelhub"`` or ``"spaceknow"``."""
        return self._transport.dialect.name

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._transport.closed

    async def __aenter__(self) -> Self:
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session and its connections; the client cannot be used afterwards."""
        await self._transport.aclose()

    async def authenticate(self) -> None:
        """Log in now instead of on the first request (checks the credentials early)."""
        await self._transport.authenticate()

    def resume_job(self, token: str | bytes, *, poll: PollPolicy | None = None) -> Job[Any]:
        """Re-attach to a job of this service from its ``resume_token`` (e.g. after a restart).

        A token of another service's job (a SpaceKnow pipeline's token on a
        Sentinel Hub client) is a :class:`~eoclient.errors.ValidationError`
        naming ``resume_token`` and both services.
        """
        if poll is not None:
            check_instance("poll", poll, PollPolicy)
        return resume_job(token, self._context, poll=poll or self.poll_policy)

    async def request(self, method: str, path: str, *, operation: str = "raw", **kwargs: Any) -> Response:
        """Call an endpoint this client has no method for yet, with every transport guarantee.

        ``path`` is relative to the service's base URL. Keyword arguments are
        those of :meth:`Transport.request` (``params``, ``json``, ``headers``,
        ``idempotent``...).
        """
        return await self._transport.request(method, path, operation=operation, **kwargs)

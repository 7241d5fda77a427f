"""What every service family is given: one small context instead of the whole client.

A family (Catalog, Batch, Kraken, ...) needs three things from the client that
owns it: the :class:`~eoclient._http.transport.Transport` to send requests, the
:class:`~eoclient._polling.PollPolicy` its Jobs start with, and the service's
settings (URLs, credentials' owner). Handing it these, rather than the client,
keeps the families free of the client's other families and of import circles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from eoclient._http.transport import Transport
    from eoclient._polling import PollPolicy
    from eoclient.storage.settings import StorageSettings

__all__ = ["ServiceContext"]

S = TypeVar("S")


class ServiceContext(Generic[S]):
    """The transport, the Jobs' poll policy and the service settings, shared by one client's families.

    One instance per client, shared by reference: assigning
    ``client.poll_policy`` replaces ``poll`` here, so Jobs created afterwards
    by any family use the new cadence. ``storage`` says where the object
    store that receives the jobs' outputs is and how to sign in to it
    (``None``: the ``AWS_*`` environment and profile).
    """

    __slots__ = ("poll", "settings", "storage", "transport")

    def __init__(
        self, transport: Transport, poll: PollPolicy, settings: S, storage: StorageSettings | None = None
    ) -> None:
        self.transport = transport
        self.poll = poll
        self.settings = settings
        self.storage = storage

    @property
    def service(self) -> str:
        """``"sentinelhub"`` or ``"spaceknow"``: the dialect the transport speaks."""
        return self.transport.dialect.name

    def __repr__(self) -> str:
        return f"ServiceContext(service={self.service!r}, base_url={self.transport.base_url!r})"

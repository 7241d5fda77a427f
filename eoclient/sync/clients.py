"""The sync clients: :class:`SentinelHub` and :class:`SpaceKnow` without ``await``."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

import eoclient
from eoclient.sync._loop import LoopThread, stop_at_exit
from eoclient.sync._proxy import SyncProxy

__all__ = ["SentinelHub", "SpaceKnow", "SyncClient"]


class SyncClient(SyncProxy):
    """A client of the async API used without ``await``: one event loop in a thread of its own.

    The constructor takes the async client's arguments (and checks them the
    same way, before any thread starts). The loop starts on ``with`` or on the
    first call, opens the client's session there, and stops on :meth:`close`
    (or at the end of ``with``, or when the client is garbage-collected or the
    interpreter exits without either; a forgotten client never hangs the exit).
    Every family, method, listing, Job and iterator of the async client is
    there, generated from it (see :mod:`eoclient.sync`); errors are the same
    :mod:`eoclient.errors` classes. Objects it hands out keep it alive, and
    raise :class:`~eoclient.errors.ClientClosedError` once it is closed.

    Calls block the calling thread only: from several threads at once, or
    from code that runs inside an event loop (Jupyter), they are safe. Inside
    a coroutine of the same program, use the async client instead: a blocking
    call there holds up everything else on that loop.
    """

    __slots__ = ("_eo_loop",)
    _eo_loop: LoopThread
    async_client: ClassVar[type[Any]]
    """The async client class this one is generated from."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._eo_attach(self.async_client(*args, **kwargs))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # help() and IDEs show the async client's constructor: it is the one that runs.
        cls.__signature__ = inspect.signature(cls.async_client)  # type: ignore[attr-defined]

    @classmethod
    def from_async(cls, client: Any) -> Self:
        """The sync view of an async client built elsewhere, not yet opened (it is opened in the loop).

        Example::

            sh = eoclient.sync.SentinelHub.from_async(sentinelhub_client(emu))
        """
        if not isinstance(client, cls.async_client):
            raise eoclient.errors.ValidationError(
                "client", f"expected an unopened {cls.async_client.__name__}, got {type(client).__name__}"
            )
        facade = cls.__new__(cls)
        facade._eo_attach(client)
        return facade

    def _eo_attach(self, client: Any) -> None:
        name = type(client).__name__
        loop = LoopThread(name, client.__aenter__, client.aclose)
        object.__setattr__(self, "_eo_target", client)
        object.__setattr__(self, "_eo_owner", self)
        object.__setattr__(self, "_eo_loop", loop)
        # The finalizer holds the loop, not this object: garbage collection and exit both close it.
        weakref.finalize(self, stop_at_exit, loop)

    # -- what the proxies of this client call ----------------------------------------------------------

    def _eo_call(self, func: Callable[..., Any], *args: Any) -> Any:
        return self._eo_loop.call(func, *args)

    def _eo_closed(self) -> bool:
        return self._eo_loop.stopped

    # -- lifecycle -----------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._eo_loop.portal()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Start the loop and open the session now (the first call does it otherwise)."""
        self._eo_loop.portal()

    def close(self) -> None:
        """Close the session, stop the loop and join its thread (idempotent).

        The client and everything it handed out raise
        :class:`~eoclient.errors.ClientClosedError` afterwards.
        """
        self._eo_loop.stop()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._eo_loop.stopped or bool(self._eo_target.closed)

    def __repr__(self) -> str:
        return f"<sync {self._eo_target!r}>"


class SentinelHub(SyncClient):
    """:class:`eoclient.SentinelHub` without ``await`` (same arguments, families and methods).

    Example::

        with eoclient.sync.SentinelHub() as sh:
            for item in sh.catalog.search("sentinel-2-l2a", bbox=BBOX, datetime=JUNE):
                print(item.id)
            job = sh.batch.run(batch_request)
            for status in job.watch():
                print(status.raw, status.progress)
            report = job.download("outputs/")
    """

    __slots__ = ()
    async_client = eoclient.SentinelHub


class SpaceKnow(SyncClient):
    """:class:`eoclient.SpaceKnow` without ``await`` (same arguments, families and methods).

    Example::

        with eoclient.sync.SpaceKnow() as sk:
            scenes = sk.imagery.search([("airbus", "pleiades")], extent, max_items=10).collect()
            released = sk.kraken.release(["cars"], [scenes[0].scene_id], extent).wait()
            sk.kraken.download_map(released, "maps/")
    """

    __slots__ = ()
    async_client = eoclient.SpaceKnow

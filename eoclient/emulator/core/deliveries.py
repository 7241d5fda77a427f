"""Job outputs written into object storage as the jobs progress on the emulated clock.

A job family registers a :class:`Producer` when a job is created; the
producer knows, from the job's own state at an emulated instant, which
objects exist by then (a tile's GeoTIFF once the tile is processed). Nothing
runs on a timer inside the job engines: :meth:`Deliveries.flush` asks every
producer what is due *now* and writes it to the sink, and it is called

* before the object store's S3 API answers (so a listing sees what is due),
* after every Sentinel Hub request is handled (so a job that reads DONE has
  written everything before the client sees that status),
* every few milliseconds by a background task when the sink is a real S3
  server (:class:`RemoteSink`), which nobody else would wake.

Two sinks: :class:`LocalSink`, the emulator's own :class:`ObjectStore` (the
default; buckets are created on first write), and :class:`RemoteSink`, a real
S3 server (moto in the tests, MinIO, ...) written with plain signed PUTs; its
buckets must exist. :meth:`Deliveries.bucket_error` says, before a job starts,
whether its bucket can be written; a family fails the job the way the service
reports an inaccessible bucket. The ``late`` fault holds a delivery back for
some emulated seconds (:meth:`FaultInjector.take_late`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import quote

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from eoclient.emulator.core.clock import EmulatorClock
from eoclient.emulator.core.faults import FaultInjector
from eoclient.emulator.core.objects import Body, ObjectStore
from eoclient.emulator.core.sigv4 import sign
from eoclient.emulator.core.state import EmulatorState, get_state

__all__ = [
    "Deliveries",
    "Delivery",
    "LocalSink",
    "Producer",
    "RemoteSink",
    "Sink",
    "deliveries_of",
    "flush_middleware",
    "object_store",
]

log = logging.getLogger("eoclient.emulator")

_PUMP_INTERVAL: Final = 0.02  # real seconds between flushes when writing to a real S3 server
_DELIVERIES_KEY: Final = "deliveries"
_OBJECTS_KEY: Final = "objects"


@dataclass(frozen=True)
class Delivery:
    """One object a job writes."""

    bucket: str
    key: str
    body: Body
    content_type: str = "application/octet-stream"


class Producer(Protocol):
    """What one job has delivered by an emulated instant."""

    def due(self, now: float) -> list[Delivery]:
        """The objects that exist at ``now`` and were not returned before."""

    def finished(self, now: float) -> bool:
        """Whether it will never deliver anything again (then it is forgotten)."""


class Sink(Protocol):
    """Where deliveries are written."""

    async def put(self, delivery: Delivery) -> None:
        """Write one object."""

    async def bucket_exists(self, bucket: str) -> bool:
        """Whether a job may write to ``bucket``."""


@dataclass
class LocalSink:
    """The emulator's own object store."""

    store: ObjectStore

    def put_now(self, delivery: Delivery) -> None:
        """Write one object (synchronously)."""
        self.store.put(delivery.bucket, delivery.key, delivery.body, content_type=delivery.content_type)

    async def put(self, delivery: Delivery) -> None:
        """Write one object."""
        self.put_now(delivery)

    async def bucket_exists(self, bucket: str) -> bool:
        """Whether ``bucket`` exists; one a job names is created here unless the store says not to."""
        if self.store.auto_create:
            self.store.create_bucket(bucket)  # the emulator plays the user's bucket too
        return self.store.has_bucket(bucket)


@dataclass
class RemoteSink:
    """A real S3 server, path-style, written with SigV4-signed PUTs."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)

    def _url(self, bucket: str, key: str = "") -> URL:
        path = quote(bucket, safe="") + ("/" + quote(key, safe="/~") if key else "")
        return URL(self.endpoint.rstrip("/") + "/" + path, encoded=True)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    def _headers(self, method: str, url: URL, payload: bytes) -> dict[str, str]:
        return sign(
            method, url, payload, access_key=self.access_key, secret_key=self.secret_key, region=self.region
        )

    async def put(self, delivery: Delivery) -> None:
        """PUT one object; an ``OSError`` if the server refuses it."""
        body = delivery.body if isinstance(delivery.body, bytes) else delivery.body()
        url = self._url(delivery.bucket, delivery.key)
        headers = {**self._headers("PUT", url, body), "Content-Type": delivery.content_type}
        async with self._client().put(url, data=body, headers=headers) as response:
            text = await response.text()
            if response.status >= 300:
                raise OSError(f"S3 PUT {delivery.bucket}/{delivery.key}: {response.status} {text[:300]}")

    async def bucket_exists(self, bucket: str) -> bool:
        """HEAD the bucket: 200 is writable; 403 or 404 are not."""
        url = self._url(bucket)
        async with self._client().head(url, headers=self._headers("HEAD", url, b"")) as response:
            return response.status < 300

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class Deliveries:
    """The producers of an emulator, the deliveries held back by ``late`` faults, and the sink."""

    def __init__(self, clock: EmulatorClock, faults: FaultInjector, sink: LocalSink | RemoteSink) -> None:
        self.clock = clock
        self.faults = faults
        self.sink = sink
        self._producers: list[Producer] = []
        self._held: list[tuple[float, Delivery]] = []
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None

    def register(self, producer: Producer) -> None:
        """Deliver what ``producer`` says, from now on."""
        self._producers.append(producer)

    def _collect(self) -> list[Delivery]:
        now = self.clock.now()
        ready: list[Delivery] = []
        for producer in list(self._producers):
            for delivery in producer.due(now):
                late = self.faults.take_late(f"/{delivery.bucket}/{delivery.key}")
                if late:
                    self._held.append((now + late, delivery))
                else:
                    ready.append(delivery)
            if producer.finished(now):
                self._producers.remove(producer)
        still = [(at, d) for at, d in self._held if at > now]
        ready.extend(d for at, d in self._held if at <= now)
        self._held = still
        return ready

    def flush_local(self) -> None:
        """Write what is due now to the emulator's own store (no-op with a remote sink)."""
        if isinstance(self.sink, LocalSink):
            for delivery in self._collect():
                self.sink.put_now(delivery)

    async def flush(self) -> None:
        """Write what is due now to the sink (a failed remote write is retried at the next flush)."""
        if isinstance(self.sink, LocalSink):
            self.flush_local()
            return
        async with self._lock:
            for delivery in self._collect():
                try:
                    await self.sink.put(delivery)
                except (OSError, aiohttp.ClientError, TimeoutError) as exc:
                    log.warning("emulator delivery failed (retried): %s", exc)
                    self._held.append((self.clock.now(), delivery))

    async def bucket_error(self, bucket: str) -> str | None:
        """Why a job cannot write to ``bucket`` (the service's wording), or ``None``."""
        try:
            if await self.sink.bucket_exists(bucket):
                return None
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("emulator bucket check failed: %s", exc)
        return (
            f"Could not access bucket {bucket}: it does not exist or Sentinel Hub is not allowed to write "
            "to it. Check the bucket name and its policy."
        )

    @property
    def pending(self) -> int:
        """How many jobs may still deliver, plus deliveries held back by ``late`` faults."""
        return len(self._producers) + len(self._held)

    async def start(self) -> None:
        """Start the background flushes a remote sink needs."""
        if isinstance(self.sink, RemoteSink) and self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                await self.flush()
            except Exception:  # keep delivering whatever one write did
                log.exception("emulator delivery pump")
            await asyncio.sleep(_PUMP_INTERVAL)

    async def stop(self) -> None:
        """Stop the background flushes and close the remote session."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        if isinstance(self.sink, RemoteSink):
            await self.sink.close()


def object_store(state: EmulatorState) -> ObjectStore:
    """The emulator's own object store (``state.stores["objects"]``)."""
    return state.store(_OBJECTS_KEY, lambda: ObjectStore(state.clock))


def deliveries_of(state: EmulatorState, factory: Callable[[], Deliveries] | None = None) -> Deliveries:
    """The deliveries of an emulator (``state.stores["deliveries"]``; the own store unless configured)."""
    return state.store(
        _DELIVERIES_KEY,
        factory or (lambda: Deliveries(state.clock, state.faults, LocalSink(object_store(state)))),
    )


@web.middleware
async def flush_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a request is handled, write what is due, so a status read as DONE means delivered."""
    response = await handler(request)
    deliveries = get_state(request).stores.get(_DELIVERIES_KEY)
    if isinstance(deliveries, Deliveries):
        try:
            await deliveries.flush()
        except Exception:  # a delivery problem must not break the service's answer
            log.exception("emulator delivery flush")
    return response

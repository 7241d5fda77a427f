"""A loopback proxy in front of moto's S3 server that misbehaves on purpose.

It forwards every request to moto as is (moto does not check signatures, so a
request signed for the proxy's host is fine) and records what it saw. A test
arms faults: answer the next GETs of an object with ``503 SlowDown``, cut the
next object body after some bytes (the connection closed mid-body), stall a
body until released, answer ``403 AccessDenied``, or page listings by a small
``max-keys``; refuse one part of a multipart upload, or hold the parts from a number on.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.integration.hostile import serve

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def s3_error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return web.Response(status=status, body=body.encode(), content_type="application/xml")


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class S3Proxy:
    upstream: str
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    slowdowns: int = 0  # answer this many object GETs with 503 SlowDown
    cut_after: int | None = None  # cut the next object body after this many bytes
    stall_after: int | None = None  # send this many bytes of the next object body, then wait
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    deny: set[str] = field(default_factory=set)  # keys answered 403 AccessDenied
    max_keys: int | None = None  # page every listing by this many keys
    on_cut: Callable[[], object] | None = None  # runs once a body was cut (e.g. replace the object)
    refuse_part: int | None = None  # answer this part number's upload 403 AccessDenied
    hold_parts_from: int | None = None  # hold part uploads from this number on until ``release``
    hide_once: set[str] = field(default_factory=set)  # answer the next HEAD of these keys 404

    def gets(self, key: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and s.path.endswith("/" + key)]

    def puts(self, key: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "PUT" and s.path.endswith("/" + key)]

    def parts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "PUT" and "partNumber" in s.query]

    def aborts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "DELETE" and "uploadId" in s.query]

    def listings(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and s.query.get("list-type") == "2"]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, dict(request.query), dict(request.headers)))
        is_object = request.method == "GET" and "list-type" not in request.query
        if any(request.path.endswith("/" + k) for k in self.deny):
            return s3_error(403, "AccessDenied", "Access Denied")
        hidden = next((k for k in self.hide_once if request.path.endswith("/" + k)), None)
        if request.method == "HEAD" and hidden is not None:
            self.hide_once.discard(hidden)
            return web.Response(status=404)
        part = (
            int(request.query["partNumber"])
            if request.method == "PUT" and "partNumber" in request.query
            else None
        )
        if part is not None and part == self.refuse_part:
            return s3_error(403, "AccessDenied", "Access Denied")
        if part is not None and self.hold_parts_from is not None and part >= self.hold_parts_from:
            self.stalled.set()
            await self.release.wait()
        if is_object and self.slowdowns > 0:
            self.slowdowns -= 1
            return s3_error(503, "SlowDown", "Please reduce your request rate.")
        query = dict(request.query)
        if self.max_keys is not None and "list-type" in query:
            query["max-keys"] = str(self.max_keys)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        sent = await request.read()
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.request(
                request.method,
                self.upstream + request.path,
                params=query,
                headers=headers,
                data=io.BytesIO(sent) if len(sent) > 1 << 20 else sent,  # aiohttp warns of large bytes
            ) as up,
        ):
            body = await up.read()
            out_headers = {k: v for k, v in up.headers.items() if k.lower() not in _HOP}
        if is_object and up.status in (200, 206) and (self.cut_after or self.stall_after):
            return await self._misbehave(request, up.status, out_headers, body)
        if request.method == "HEAD":
            # No body, but the object's size stays announced.
            out_headers["Content-Length"] = up.headers.get("Content-Length", "0")
            return web.Response(status=up.status, headers=out_headers)
        return web.Response(status=up.status, body=body, headers=out_headers)

    async def _misbehave(
        self, request: web.Request, status: int, headers: dict[str, str], body: bytes
    ) -> web.StreamResponse:
        stream = web.StreamResponse(status=status, headers=headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        if self.cut_after is not None:
            n, self.cut_after = self.cut_after, None
            await stream.write(body[:n])
            assert request.transport is not None
            request.transport.close()  # close(), not abort(): the prefix still goes out first
            if self.on_cut is not None:
                self.on_cut()
            return stream
        n, self.stall_after = self.stall_after or 0, None
        await stream.write(body[:n])
        self.stalled.set()
        await self.release.wait()
        await stream.write(body[n:])
        return stream


@asynccontextmanager
async def s3_proxy(upstream: str) -> AsyncIterator[S3Proxy]:
    proxy = S3Proxy(upstream)
    app = web.Application(client_max_size=256 << 20)  # part uploads are 5 MiB and more
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    async with serve(app) as url:
        proxy.url = url
        try:
            yield proxy
        finally:
            proxy.release.set()

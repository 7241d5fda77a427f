"""Loopback servers that misbehave on purpose, and the probe they point the client at.

:class:`Hostile` plays a service (Sentinel Hub or SpaceKnow, token endpoint
included) whose answers a test scripts per route: redirects, next links and
answers of the wrong type. :class:`Probe` is a second host (another port on
127.0.0.1, so another origin) that records whatever reaches it: a test passes
when the probe received nothing it should not have. :func:`raw_server` answers
every connection with fixed bytes, for malformed HTTP no aiohttp server sends.
"""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN = "hostile-bearer-token-0123456789"
SECRET = "hostile-client-secret-abcdef"
PASSWORD = "hostile-password-ghijkl"
# SpaceKnow's bearer is a JWT (id_token); the client reads its lifetime from `exp`.
SK_TOKEN = ".".join(
    base64.urlsafe_b64encode(part).decode().rstrip("=")
    for part in (b'{"alg":"none"}', b'{"exp": 4102444800, "sub": "hostile"}', b"signature-xyz")
)


@dataclass
class Received:
    """One request as a server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on an ephemeral loopback port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _record(request: web.Request, into: list[Received]) -> None:
    into.append(
        Received(
            request.method,
            request.path,
            request.query_string,
            dict(request.headers),
            await request.read(),
        )
    )


class Probe:
    """Another host: answers 200 ``{"probe": true}`` to everything and records it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.url = ""

    async def _any(self, request: web.Request) -> web.StreamResponse:
        await _record(request, self.received)
        return web.json_response({"probe": True, "data": [{"id": 1}], "links": {}})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Probe]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        async with serve(app) as url:
            self.url = url
            yield self

    def leaked(self, *secrets: str) -> list[str]:
        """Every secret found anywhere in what the probe received."""
        found = []
        for r in self.received:
            text = json.dumps(r.headers) + r.body.decode("utf-8", "replace") + r.query
            found += [s for s in secrets if s in text]
        return found


@dataclass
class Hostile:
    """A scripted service: ``routes[(METHOD, path)]`` answers; tokens for both services."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    def redirect(self, method: str, path: str, status: int, location: str) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.on(method, path, handler)

    def answer(
        self, method: str, path: str, body: bytes, content_type: str, status: int = 200, **headers: str
    ) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, body=body, headers={"Content-Type": content_type, **headers})

        self.on(method, path, handler)

    async def _any(self, request: web.Request) -> web.StreamResponse:
        await _record(request, self.received)
        handler = self.routes.get((request.method, request.path))
        if handler is not None:
            return await handler(request)
        if request.path == "/oauth/token":
            return web.json_response({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})
        if request.path == "/login":
            return web.json_response({"id_token": SK_TOKEN})
        return web.json_response(
            {"error": {"status": 404, "reason": "Not Found", "message": "no"}}, status=404
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Hostile]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        async with serve(app) as url:
            self.url = url
            yield self

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    @property
    def login_url(self) -> str:
        return f"{self.url}/login"


Script = Sequence[bytes | float]  # bytes to write, or seconds to pause


@asynccontextmanager
async def scripted_server(script: Script, *, keep_alive: bool = True) -> AsyncIterator[str]:
    """A loopback server that plays ``script`` in answer to each request of a connection.

    With ``keep_alive=False`` it closes the connection after the first answer.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                for step in script:
                    if isinstance(step, bytes):
                        writer.write(step)
                        await writer.drain()
                    else:
                        await asyncio.sleep(step)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        if not keep_alive:  # a kept-alive script may still be pausing: its handler is not waited for
            await server.wait_closed()


def raw_server(answer: bytes) -> AbstractAsyncContextManager[str]:
    """A loopback server that reads a request and writes ``answer`` verbatim, then closes."""
    return scripted_server([answer], keep_alive=False)


def everything_said(exc: BaseException) -> str:
    """All an exception can show: str, repr, attributes, its whole cause/context chain and its pickle."""
    seen: set[int] = set()
    out: list[str] = []
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        out += [str(current), repr(current), repr(vars(current)) if hasattr(current, "__dict__") else ""]
        out += [repr(a) for a in current.args]
        out += [repr(note) for note in getattr(current, "__notes__", [])]
        try:
            out.append(repr(pickle.dumps(current)))
        except Exception as err:  # a chained exception that cannot be pickled still says what it holds
            out.append(repr(err))
        stack += [current.__cause__, current.__context__]
    return "\n".join(out)


def sh_kwargs(hostile: Hostile, **kwargs: Any) -> dict[str, Any]:
    """Arguments for a SentinelHub client whose service and token endpoint are ``hostile``."""
    from tests.integration.conftest import FAST_POLL, FAST_RETRY

    return {
        "client_id": "hostile-client",
        "client_secret": SECRET,
        "base_url": hostile.url,
        "token_url": hostile.token_url,
        "retry": FAST_RETRY,
        "poll": FAST_POLL,
        **kwargs,
    }

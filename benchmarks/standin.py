"""A fast stand-in for two Sentinel Hub endpoints, in a process of its own: ``python -m benchmarks.standin``.

The emulator renders real pixels (about 28 MB/s, at most 2500 px a side) and
keeps real job state: right for checking behaviour, too slow to find the
client's ceiling. This server answers from pre-built bytes so that the client
is the bottleneck:

* ``POST /oauth/token``: a bearer token (any client id and secret);
* ``POST /api/v1/process``: ``--body-bytes`` bytes of a TIFF-typed body
  (``image/tiff``, with ``Content-Length``) streamed from one pre-built
  buffer, whatever the request asks (64 KiB when ``output.width`` is under
  100: the clients' warm-ups);
* ``GET /api/v2/batch/process/{id}``: a Batch v2 request document, status
  ``PROCESSING`` for the first ``--polls - 1`` GETs of that id and ``DONE``
  from the ``--polls``-th on, so every poller makes exactly ``--polls`` calls
  per job;
* ``GET /_stats/polls/{prefix}``: how many status GETs the ids starting with
  ``prefix`` got (the benchmark checks both pollers made the same number).

It prints one JSON line when ready (its URLs), as the emulator does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from benchmarks.emulator import json_line_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TOKEN = "standin-token"  # any client gets this bearer: a loopback test server
CHUNK = 1 << 20
WARM_WIDTH, WARM_BYTES = 100, 64 << 10  # a narrower request (a warm-up) gets a small body
# A little-endian TIFF header, then a repeating pattern: the body only has to look like a TIFF.
_HEADER = b"II*\x00\x08\x00\x00\x00"
_DOC = {
    "request": {"description": "stand-in"},
    "domainAccountId": "bb947651-8aa5-4c70-8dda-ee86a0f3b97a",
    "projectId": "bb947651-8aa5-4c70-8dda-ee86a0f3b97a",
    "userAction": "START",
    "created": "2026-12-07T15:23:12.647Z",
    "lastUpdated": "2026-12-07T15:23:12.648Z",
    "costPU": 0.0,
    "userActionUpdated": "2026-12-07T15:23:12.648Z",
}


def _buffer(size: int) -> bytes:
    """The chunk every answer repeats: a TIFF header, then a byte pattern (at most 1 MiB)."""
    return (_HEADER + bytes(range(256)) * (CHUNK // 256))[: max(1, min(size, CHUNK))]


def _document(job_id: str, status: str, progress: float) -> bytes:
    return json.dumps({"id": job_id, **_DOC, "status": status, "completionPercentage": progress}).encode()


def app(body_bytes: int, polls: int) -> web.Application:
    """The stand-in's routes (see the module docstring)."""
    chunk = memoryview(_buffer(body_bytes))
    counts: Counter[str] = Counter()

    async def token(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})

    async def process(request: web.Request) -> web.StreamResponse:
        asked = await request.json()
        width = (asked.get("output") or {}).get("width") or 0
        size = WARM_BYTES if width < WARM_WIDTH else body_bytes
        resp = web.StreamResponse(headers={"Content-Type": "image/tiff"})
        resp.content_length = size
        await resp.prepare(request)
        left = size
        while left > 0:
            part = chunk[: min(left, len(chunk))]
            await resp.write(part)
            left -= len(part)
        await resp.write_eof()
        return resp

    async def status(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        counts[job_id] += 1
        done = counts[job_id] >= polls
        body = _document(job_id, "DONE" if done else "PROCESSING", 100.0 if done else 50.0)
        return web.Response(body=body, content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        prefix = request.match_info["prefix"]
        return web.json_response({"polls": sum(n for key, n in counts.items() if key.startswith(prefix))})

    application = web.Application(client_max_size=16 << 20)
    application.router.add_post("/oauth/token", token)
    application.router.add_post("/api/v1/process", process)
    application.router.add_get("/api/v2/batch/process/{job_id}", status)
    application.router.add_get("/_stats/polls/{prefix}", stats)
    return application


async def _serve(body_bytes: int, polls: int) -> None:
    runner = web.AppRunner(app(body_bytes, polls), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server  # aiohttp exposes the bound port only here
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    print(json.dumps({"url": url, "token_url": url + "/oauth/token"}), flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.standin", description=__doc__.split("\n")[0])
    parser.add_argument("--body-bytes", type=int, default=1 << 30, help="bytes of every Process answer")
    parser.add_argument("--polls", type=int, default=2, help="status GETs per job id until DONE")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.body_bytes, args.polls))


@contextmanager
def standin_process(body_bytes: int, polls: int) -> Iterator[dict[str, Any]]:
    """Start the stand-in in a process of its own; yield its URLs (``url``, ``token_url``)."""
    argv = [
        sys.executable,
        "-m",
        "benchmarks.standin",
        "--body-bytes",
        str(body_bytes),
        "--polls",
        str(polls),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (ROOT, os.environ.get("PYTHONPATH"))))}
    with json_line_server(argv, "the stand-in server", env) as info:
        yield info


if __name__ == "__main__":
    main()

"""process-large-to-file: one large Process API answer (a multi-band FLOAT32 TIFF) written to disk.

Memory is the point: eoclient's ``process_to_file`` streams the body into
``<path>.part`` chunk by chunk; ``sh.process()`` then a write holds it (the
eoclient row for what streaming saves). sentinelhub-py reads the whole
response into memory (``requests``' ``response.content``) before it saves it:
``save_data()`` writes the raw bytes under ``data_folder``, and
``get_data(save_data=True)`` also decodes them into a numpy array (its
default). Each client runs in its own process, so ``work MB`` (how far the
resident set rose during the work) is that client's alone.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from benchmarks import clients
from benchmarks.measure import Context
from benchmarks.scenarios._process import eoclient_request, evalscript, sentinelhub_request
from benchmarks.spec import Row, Scenario

BBOX = (13.8, 45.8, 14.5, 46.2)
WARM_SIZE = 32


def _script(ctx: Context) -> str:
    return evalscript(ctx.params["bands"], "FLOAT32")


def eoclient_to_file(ctx: Context) -> None:
    size, script = ctx.params["size"], _script(ctx)
    out = ctx.workdir / "eoclient.tif"

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await sh.process_to_file(eoclient_request(BBOX, WARM_SIZE, WARM_SIZE, script), out)
            out.unlink()
            for _ in ctx.repeats():
                with ctx.timed():
                    info = await sh.process_to_file(eoclient_request(BBOX, size, size, script), out)
                ctx.fact(bytes=out.stat().st_size)
                assert info.size == out.stat().st_size
                out.unlink()

    asyncio.run(main())


def eoclient_in_memory(ctx: Context) -> None:
    size, script = ctx.params["size"], _script(ctx)
    out = ctx.workdir / "eoclient.tif"

    async def main() -> None:
        async with clients.sentinelhub(ctx.info) as sh:
            await sh.process(eoclient_request(BBOX, WARM_SIZE, WARM_SIZE, script))
            for _ in ctx.repeats():
                with ctx.timed():
                    result = await sh.process(eoclient_request(BBOX, size, size, script))
                    await asyncio.to_thread(out.write_bytes, result.content)
                del result
                ctx.fact(bytes=out.stat().st_size)
                out.unlink()

    asyncio.run(main())


def aiohttp_to_file(ctx: Context) -> None:
    """The floor: bare aiohttp, the body's chunks written with plain blocking writes (no .part, no fsync)."""
    import aiohttp  # noqa: PLC0415 - eoclient's dependency; this row uses it bare

    from benchmarks.peers import bearer_token  # noqa: PLC0415

    size, script = ctx.params["size"], _script(ctx)
    out = ctx.workdir / "aiohttp.tif"
    url = ctx.info["sentinelhub_url"] + "/api/v1/process"
    headers = {"Authorization": f"Bearer {bearer_token(ctx.info)}", "Accept": "image/tiff"}

    async def fetch(session: aiohttp.ClientSession, width: int) -> None:
        body = eoclient_request(BBOX, width, width, script)
        with out.open("wb") as fh:
            async with session.post(url, json=body, headers=headers) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    fh.write(chunk)

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await fetch(session, WARM_SIZE)
            out.unlink()
            for _ in ctx.repeats():
                with ctx.timed():
                    await fetch(session, size)
                ctx.fact(bytes=out.stat().st_size)
                out.unlink()

    asyncio.run(main())


def _saved_size(folder: Path) -> int:
    (found,) = [p for p in folder.rglob("response.*") if p.is_file()]
    return found.stat().st_size


def _sentinelhub(ctx: Context, *, decode: bool) -> None:
    from benchmarks.peers import sentinelhub_config  # noqa: PLC0415 - the peer is optional

    size, script = ctx.params["size"], _script(ctx)
    config = sentinelhub_config(ctx.info)
    warm = ctx.workdir / "warm"
    sentinelhub_request(ctx.info, config, BBOX, WARM_SIZE, WARM_SIZE, script, warm).get_data(save_data=True)
    shutil.rmtree(warm)
    for i in ctx.repeats():
        folder = ctx.workdir / f"run{i}"  # a fresh folder: sentinelhub-py would reuse a saved answer
        with ctx.timed():
            request = sentinelhub_request(ctx.info, config, BBOX, size, size, script, folder)
            if decode:
                data = request.get_data(save_data=True)
            else:
                request.save_data()
        if decode:
            ctx.fact(pixels=int(data[0].size))
            del data
        ctx.fact(bytes=_saved_size(folder))
        shutil.rmtree(folder)


def sentinelhub_save(ctx: Context) -> None:
    _sentinelhub(ctx, decode=False)


def sentinelhub_get_and_save(ctx: Context) -> None:
    _sentinelhub(ctx, decode=True)


SCENARIO = Scenario(
    name="process-large-to-file",
    module=__name__,
    summary=(
        "One large Process API answer (a size x size FLOAT32 TIFF of several bands) written to a file; "
        "each client in its own process, so its peak memory is its own."
    ),
    rows=(
        Row("eoclient process_to_file (streamed)", "eoclient_to_file"),
        Row(
            "aiohttp + blocking writes (floor)",
            "aiohttp_to_file",
            "aiohttp",
            "bare aiohttp, 64 KiB chunks written with plain blocking writes: no .part, no fsync",
        ),
        Row(
            "eoclient process() + write (in memory)",
            "eoclient_in_memory",
            "eoclient",
            "reference: the whole answer in memory, then written",
        ),
        Row(
            "sentinelhub-py save_data() (raw)",
            "sentinelhub_save",
            "sentinelhub",
            "SentinelHubRequest(data_folder=...).save_data(): raw bytes to disk, no decoding",
        ),
        Row(
            "sentinelhub-py get_data(save_data=True)",
            "sentinelhub_get_and_save",
            "sentinelhub",
            "its default: saved to data_folder and decoded into a numpy array",
        ),
    ),
    normal={"size": 2500, "bands": 3, "repeat": 5},
    quick={"size": 400, "bands": 3, "repeat": 1},
    unit="MB/s",
    amount=lambda params, facts: facts.get("bytes", 0) / 1e6,
    headline=lambda p: (
        f"one {p['size']}x{p['size']} {p['bands']}-band FLOAT32 TIFF "
        f"({p['size'] * p['size'] * p['bands'] * 4 / 1e6:.0f} MB) to a file"
    ),
    agree=("bytes", "pixels"),
    memory=True,
)

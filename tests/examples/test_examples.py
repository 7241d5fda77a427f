"""Every file of examples/ runs against the emulator, as a user runs it.

The clients find the emulator through the environment variables the README
documents (set here as a user's shell would), in an empty home directory (no
config file). The web apps are driven through their test clients — httpx's
ASGI transport with the app's lifespan run by asgi-lifespan, aiohttp's
test_utils — and their client talks real HTTP to the emulator on loopback.
The scripts run in a subprocess (``python examples/x.py``) while the emulator
serves from the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import re
import signal
import socket
import struct
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from eoclient.emulator import Emulator
from tests.extras import need
from tests.test_readme import emulator_environment

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BBOX = "13.8,45.8,14.5,46.2"  # Ljubljana
REGION = "12.0,44.0,17.0,48.0"  # around it: the emulator's catalog has a few summer scenes there
SUMMER = {"start": "2023-05-01", "end": "2023-08-31"}
BATCH = "/api/v2/batch/process"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.eo_emulator(clock_speed=1000.0)


def environment(emu: Emulator, home: Path) -> dict[str, str]:
    """This process's environment, pointed at ``emu`` the way the README tells a user to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "EOCLIENT_", "SH_", "SK_"))}
    env.update(emulator_environment(emu, home))
    checkout = str(EXAMPLES.parent)  # this checkout's eoclient, not another installed one
    env["PYTHONPATH"] = os.pathsep.join([checkout, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture
def user_env(eo_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """This process's environment as a user's shell would set it for the emulator."""
    home = tmp_path / "home"
    home.mkdir()
    env = environment(eo_emulator, home)
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def examples_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """examples/ on sys.path, as ``python examples/x.py`` and ``uvicorn --app-dir examples`` put it."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    for name in ("eo_requests", "web_errors", "fastapi_app", "aiohttp_app"):
        sys.modules.pop(name, None)


def load(name: str) -> ModuleType:
    """An example module, imported fresh."""
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG (its IHDR chunk)."""
    assert content.startswith(PNG_SIGNATURE), content[:40]
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- the FastAPI app ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("examples_path")
async def test_fastapi_app_renders_searches_and_runs_a_batch_job_with_one_client(
    eo_emulator: Emulator, user_env: dict[str, str]
) -> None:
    httpx = need("httpx")
    lifespan = need("asgi_lifespan")
    app = load("fastapi_app").create_app()
    clients: list[Any] = []
    opened = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def noting_the_client(app: Any) -> AsyncIterator[Any]:
        async with opened(app) as state:
            clients.append(state["sh"])
            yield state

    app.router.lifespan_context = noting_the_client
    async with (
        lifespan.LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(manager.app), base_url="http://app") as http,
    ):
        await check_web_app(http, eo_emulator)
        assert len(clients) == 1 and not clients[0].closed
    assert clients[0].closed  # closed with the application


async def check_web_app(http: Any, emu: Emulator) -> None:
    """The endpoints both apps offer, checked the same way (``http`` is an httpx-like client)."""
    png = await http.get("/render.png", params={"bbox": BBOX, "date": "2023-06-15", "size": "200"})
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png"
    assert png_size(png.content) == (200, 200)
    assert float(png.headers["x-processing-units"]) > 0

    scenes = await http.get("/scenes", params={"bbox": REGION, **SUMMER, "max_cloud": "50"})
    assert scenes.status_code == 200, scenes.text
    assert scenes.headers["content-type"].startswith("application/geo+json")
    collection = scenes.json()
    assert collection["type"] == "FeatureCollection" and collection["features"]
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert "2023-05" <= feature["properties"]["datetime"][:7] <= "2023-08"
        assert feature["properties"]["eo:cloud_cover"] <= 50
    everything = (await http.get("/scenes", params={"bbox": REGION, **SUMMER})).json()
    assert len(everything["features"]) > len(collection["features"])  # the cloud filter was applied

    created = await http.post(
        "/batch", json={"bbox": [13.8, 45.8, 14.0, 46.0], "start": "2023-06-01", "end": "2023-06-30"}
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    now = await http.get(f"/batch/{job_id}")
    assert now.status_code == 200 and now.json()["id"] == job_id
    watched = await http.get(f"/batch/{job_id}/watch")
    assert watched.status_code == 200 and watched.headers["content-type"].startswith("application/x-ndjson")
    statuses = ndjson(watched.text)
    assert statuses[-1]["status"] == "DONE" and statuses[-1]["state"] == "SUCCEEDED", statuses
    # Each change once, ending DONE; a loaded machine may finish the job before the watch starts.
    assert {s["id"] for s in statuses} == {job_id}
    assert len({(s["status"], s.get("progress")) for s in statuses}) == len(statuses)

    # Refused before anything is sent, with the field named; an unknown job is a 404.
    sent = len(emu.requests)
    bad = await http.get("/render.png", params={"bbox": "13.8,45.8,200,46.2", "date": "2023-06-15"})
    assert bad.status_code == 422 and bad.json()["field"] == "bbox[2]", bad.text
    bad = await http.get("/render.png", params={"bbox": BBOX, "date": "June"})
    assert bad.status_code == 422 and bad.json()["field"] == "date", bad.text
    late = {"bbox": [13.8, 45.8, 14.0, 46.0], "start": "2023-06-30", "end": "2023-06-01"}
    bad = await http.post("/batch", json=late)
    assert bad.status_code == 422 and bad.json()["field"] == "end", bad.text
    assert len(emu.requests) == sent
    unknown = await http.get("/batch/00000000-0000-0000-0000-000000000000/watch")
    assert unknown.status_code == 404, unknown.text

    # One client for the whole application: one login, however many requests.
    assert emu.token_requests("sentinelhub") == 1


# -- the aiohttp app ------------------------------------------------------------------------------------


class Answer:
    """An aiohttp test client's response, read whole, with the httpx names check_web_app uses."""

    def __init__(self, status: int, headers: Any, content: bytes) -> None:
        self.status_code = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = content
        self.text = content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class AiohttpClient:
    """aiohttp's TestClient seen through the httpx-like interface of check_web_app."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        async with self._client.request(method, path, **kwargs) as resp:
            return Answer(resp.status, resp.headers, await resp.read())

    async def get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, json: Any) -> Answer:
        return await self._call("POST", path, json=json)


@pytest.mark.usefixtures("examples_path")
async def test_aiohttp_app_renders_searches_and_runs_a_batch_job_with_one_client(
    eo_emulator: Emulator, user_env: dict[str, str]
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    module = load("aiohttp_app")
    app = module.create_app()
    async with TestClient(TestServer(app)) as client:
        await check_web_app(AiohttpClient(client), eo_emulator)
        sh = app[module.SENTINEL_HUB]
        assert not sh.closed
    assert sh.closed  # closed with the application


# -- the apps served by their own run commands --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("server", ["uvicorn", "aiohttp.web"])
async def test_the_apps_serve_with_the_commands_their_docstrings_give(
    server: str, user_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    if server == "uvicorn":
        command = ["-m", "uvicorn", "fastapi_app:app", "--app-dir", str(EXAMPLES), "--port", str(port)]
    else:
        command = [str(EXAMPLES / "aiohttp_app.py")]
    env = {**user_env, "PORT": str(port), "PYTHONWARNINGS": "always::ResourceWarning"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        png = await get_when_listening(
            f"http://127.0.0.1:{port}/render.png?bbox={BBOX}&date=2023-06-15&size=64"
        )
    finally:
        process.terminate()  # as Ctrl-C or a process manager stops it: the app's shutdown runs
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    log = output.decode()
    assert png_size(png) == (64, 64), log
    assert process.returncode in (0, -signal.SIGTERM), log  # uvicorn re-raises the signal once shut down
    assert "Unclosed" not in log and "Traceback" not in log, log  # the one client was closed
    if server == "uvicorn":
        assert "Application shutdown complete" in log, log  # the lifespan's exit ran


async def get_when_listening(url: str) -> bytes:
    """GET ``url`` once the server answers (it takes a moment to start), at most 30 s."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(url) as resp:
                    body = await resp.read()
                    assert resp.status == 200, body[:500]
                    return body
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listened at {url}")


# -- the scripts, each in a subprocess as a user runs it ----------------------------------------------


async def run_script(env: dict[str, str], cwd: Path, name: str, *args: str) -> tuple[int, str, str]:
    """``python examples/<name> args...`` in ``cwd``; its exit status, stdout and stderr.

    Awaited, so that the emulator keeps serving from this test's event loop meanwhile.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / name),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=50)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def summary(stdout: str) -> dict[str, str]:
    """The ``done: key=value ...`` line of the bulk script."""
    line = next(line for line in stdout.splitlines() if line.startswith("done: "))
    return dict(re.findall(r"(\w+)=(\S+)", line))


def process_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path == "/api/v1/process")


async def test_bulk_download_renders_every_scene_once_under_a_budget_and_skips_them_on_a_rerun(
    eo_emulator: Emulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "scenes"
    args = ("--bbox", REGION, "--start", SUMMER["start"], "--end", SUMMER["end"], "--max-cloud", "100")

    # A spending cap: one render at a time, none starts once 2 PU are spent (512 x 512 x 3 bands: 1 PU).
    code, stdout, stderr = await run_script(
        user_env, tmp_path, "bulk_download.py", str(out), *args, "--concurrency", "1", "--max-pu", "2"
    )
    assert code == 0, stdout + stderr
    first = summary(stdout)
    found = int(first["found"])
    assert found >= 4 and first["rendered"] == "2" and int(first["left"]) == found - 2, stdout
    assert float(first["pu"]) == pytest.approx(2.0)

    # The rest, concurrently; what is there already is skipped.
    code, stdout, stderr = await run_script(user_env, tmp_path, "bulk_download.py", str(out), *args)
    assert code == 0, stdout + stderr
    second = summary(stdout)
    assert (second["rendered"], second["skipped"], second["failed"]) == (str(found - 2), "2", "0"), stdout
    images = sorted(out.iterdir())
    assert len(images) == found and all(png_size(p.read_bytes()) == (512, 512) for p in images)

    # A rerun renders nothing: every image is there.
    calls = process_calls(eo_emulator)
    code, stdout, stderr = await run_script(user_env, tmp_path, "bulk_download.py", str(out), *args)
    assert code == 0 and summary(stdout)["skipped"] == str(found) and summary(stdout)["rendered"] == "0"
    assert process_calls(eo_emulator) == calls


async def test_bulk_download_refuses_bad_input_in_one_line_before_sending_anything(
    eo_emulator: Emulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    sent = len(eo_emulator.requests)
    code, _, stderr = await run_script(
        user_env, tmp_path, "bulk_download.py", str(tmp_path / "out"), "--bbox", "14,46,13,47"
    )
    assert code == 1 and stderr.strip() == "error: bbox: min_x 14.0 is greater than max_x 13.0", stderr
    assert "Traceback" not in stderr and len(eo_emulator.requests) == sent


async def test_watch_batch_jobs_follows_many_requests_through_the_listing_and_downloads_each(
    eo_emulator: Emulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "outputs"
    code, stdout, stderr = await run_script(
        user_env, tmp_path, "watch_batch_jobs.py", "--create", "3", "--download", str(out), "--poll-max", "1"
    )
    assert code == 0, stdout + stderr
    ids = re.findall(r"^created +(\S+)$", stdout, re.MULTILINE)
    assert len(ids) == 3
    for job_id in ids:
        assert re.search(rf"^{job_id} DONE", stdout, re.MULTILINE), stdout
        assert re.search(rf"^{job_id} downloaded [1-9]\d* files", stdout, re.MULTILINE), stdout
        assert any((out / job_id).rglob("*.tif"))
    assert summary(stdout)["done"] == "3"
    # One listing read per round for all of them: no single-request GET while they ran.
    singles = [r for r in eo_emulator.requests if r.method == "GET" and r.path.startswith(BATCH + "/")]
    assert singles == [], singles

    # Later, by id: they are DONE, their files already there; an unknown id ends alone.
    unknown = "00000000-0000-0000-0000-000000000000"
    code, stdout, stderr = await run_script(
        user_env, tmp_path, "watch_batch_jobs.py", *ids, unknown, "--download", str(out)
    )
    assert code == 1, stdout + stderr
    assert re.search(rf"^{unknown} ERROR .*404", stderr, re.MULTILINE), stderr
    for job_id in ids:
        assert re.search(rf"^{job_id} downloaded 0 files \(0 bytes\), [1-9]\d* already there", stdout, re.M)
    assert (summary(stdout)["done"], summary(stdout)["other"]) == ("3", "1"), stdout


def test_the_examples_readme_names_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in sorted(EXAMPLES.glob("*.py")):
        assert f"`{path.name}`" in readme, path.name


async def test_the_sync_notebook_runs_top_to_bottom_without_await(
    eo_emulator: Emulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    code, stdout, stderr = await run_script(user_env, tmp_path, "sync_notebook.py")
    assert code == 0, stdout + stderr
    assert re.search(r"^S2[AB]_MSIL2A_\w+ 2023-0[5-8]-\d\d", stdout, re.MULTILINE), stdout  # the scenes
    assert re.search(r"^\{'time': 1, 'y': 256, 'x': 256, 'band': 3\} x from ", stdout, re.M), stdout
    assert re.search(r"^\d+ bytes, [\d.]+ PU$", stdout, re.MULTILINE), stdout
    assert re.search(r"\bndvi\b", stdout), stdout  # the table
    assert re.search(r"^DONE 1.0$", stdout, re.MULTILINE), stdout
    assert re.search(r"^[1-9]\d* files, [1-9]\d* bytes$", stdout, re.MULTILINE), stdout
    out = tmp_path / "notebook-output"
    assert [png_size(p.read_bytes()) for p in out.glob("*.png")] == [(256, 256)]
    assert any((out / "batch").rglob("*.tif"))

"""The pytest plugin as a user meets it: pytest in a subprocess on a user's own test file.

The user's project has none of this project's settings (no ``asyncio_mode``), and
maybe no pytest-asyncio at all (``-p no:asyncio``): the plugin's fixtures and the
async tests that use them must work in each case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import eoclient

# pytest-asyncio absent; present in its default (strict) mode; present in auto mode.
LOOP_SCOPE = ["-o", "asyncio_default_fixture_loop_scope=function"]  # silences pytest-asyncio's warning
MODES = {
    "no-pytest-asyncio": ["-p", "no:asyncio"],
    "pytest-asyncio-strict": ["-o", "asyncio_mode=strict", *LOOP_SCOPE],
    "pytest-asyncio-auto": ["-o", "asyncio_mode=auto", *LOOP_SCOPE],
}

USER_TESTS = """
import pytest

import eoclient


@pytest.mark.eo_emulator(seed=3, clock_speed=1000.0)
async def test_emulator_and_own_client(eo_emulator):
    creds = eo_emulator.credentials
    async with eoclient.SentinelHub(
        creds.sh_client_id, creds.sh_client_secret,
        base_url=eo_emulator.sentinelhub_url, token_url=eo_emulator.sentinelhub_token_url,
    ) as sh:
        assert [c.id async for c in sh.catalog.collections()]
    assert eo_emulator.clock.speed == 1000.0


async def test_ready_clients(eo_sentinelhub, eo_spaceknow):
    assert await eo_sentinelhub.catalog.collections().collect()
    assert (await eo_spaceknow.credits.user_info()).remaining_credit is not None


@pytest.fixture
async def emulated_url(eo_emulator):
    yield eo_emulator.sentinelhub_url


async def test_own_async_fixture_on_top(emulated_url):
    assert emulated_url.startswith("http://127.0.0.1:")


class TestInAClass:
    @pytest.fixture
    async def spaceknow_url(self, eo_emulator):
        return eo_emulator.spaceknow_url

    async def test_method(self, spaceknow_url):
        assert spaceknow_url.startswith("http://127.0.0.1:")
"""

# anyio's plugin runs this one; pytest-asyncio's auto mode would claim it too (their clash).
ANYIO_TEST = """
import pytest


@pytest.mark.anyio
async def test_under_anyio(eo_sentinelhub):
    assert await eo_sentinelhub.catalog.collections().collect()


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest as a user runs it, importing this checkout's eoclient (and so its plugin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    checkout = str(Path(eoclient.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([checkout, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error::ResourceWarning"]
    return subprocess.run(
        [*command, *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("mode", MODES)
def test_user_async_tests_pass_without_further_setup(tmp_path: Path, mode: str) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    if mode != "pytest-asyncio-auto":
        (tmp_path / "test_anyio.py").write_text(ANYIO_TEST)
    done = run_pytest(tmp_path, *MODES[mode])
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{4 if mode == 'pytest-asyncio-auto' else 5} passed" in done.stdout, done.stdout


def test_a_failing_user_test_fails(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "async def test_wrong(eo_emulator):\n    assert eo_emulator.sentinelhub_url == 'nowhere'\n"
    )
    done = run_pytest(tmp_path, *MODES["no-pytest-asyncio"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout and "nowhere" in done.stdout, done.stdout

"""Every ```python block of README.md runs as written, against the emulator.

The blocks run in README order in one namespace, as a reader meets them (the
"Long-running jobs" block uses the requests of "Use"); top-level ``await`` and
``async with`` run in the test's event loop. The clients find the emulator
through the environment variables the README documents, in an empty home
directory (no config file) that is also the working directory. A block that
defines ``test_*`` functions is a user's test file: pytest runs it in a
subprocess without pytest-asyncio, as the README promises. A block after an
``<!-- not run: reason -->`` line is not run; the reason says why.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

import eoclient
from eoclient.emulator import Emulator
from eoclient.sentinelhub import SentinelHub

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->")
PLANET_BUCKET = "sh.tpdi.byoc.eu-central-1"  # where Sentinel Hub keeps Planet data bought through it

# What a block's output must show (a block that runs but finds nothing is not an example).
EXPECTED_OUTPUT = {
    'sh.catalog.search("sentinel-2-l2a"': re.compile(r"^S2[AB]_MSIL2A_\w+ 2023-06-\d\d", re.MULTILINE),
    "sk.credits.check_area": re.compile(r"km2=", re.MULTILINE),
    "print([grid.name": re.compile(r"UTM 20km grid"),
    # the time series stacks three months; the mosaic covers the field in several tiles
    "sh.process_area(": re.compile(
        r"\{'time': 3, 'y': 512, 'x': 512, 'band': 1\} \{'y': \d+, 'x': \d+, 'band': 1\} [2-9] tiles"
    ),
    "store.list()": re.compile(r"/default\.tif \d+ \"[0-9a-f]{32}\"", re.MULTILINE),
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # of the first line of code (1-based)
    language: str
    code: str
    not_run: str | None  # the reason of a preceding <!-- not run: ... --> line

    @property
    def is_test_file(self) -> bool:
        return re.search(r"^(async )?def test_", self.code, re.MULTILINE) is not None


def blocks(text: str) -> list[Block]:
    """The fenced blocks of ``text``, in order."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        language = lines[i][3:].strip()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md:{i + 1}: a fence that is never closed"
        before = next((line for line in reversed(lines[:i]) if line.strip()), "")
        marker = NOT_RUN.fullmatch(before.strip())
        code = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Block(i + 2, language, code, marker["reason"] if marker else None))
        i = end + 1
    return found


PYTHON = [b for b in blocks(README.read_text(encoding="utf-8")) if b.language == "python"]


async def run_block(block: Block, namespace: dict[str, object]) -> None:
    """Run ``block`` in ``namespace``; tracebacks point at README lines."""
    tree = ast.parse(block.code, filename=str(README))
    ast.increment_lineno(tree, block.line - 1)
    code = compile(tree, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # the README's own examples, with top-level await
    if inspect.iscoroutine(result):
        await result


def emulator_environment(emu: Emulator, home: Path) -> dict[str, str]:
    """The README's environment variables, pointing at ``emu``."""
    creds = emu.credentials
    return {
        "SH_CLIENT_ID": creds.sh_client_id,
        "SH_CLIENT_SECRET": creds.sh_client_secret,
        "SH_BASE_URL": emu.sentinelhub_url,
        "SH_TOKEN_URL": emu.sentinelhub_token_url,
        "AWS_ENDPOINT_URL": emu.s3_url,
        "AWS_ACCESS_KEY_ID": creds.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key,
        "AWS_REGION": creds.s3_region,
        "SK_USERNAME": creds.sk_username,
        "SK_PASSWORD": creds.sk_password,
        "SK_CLIENT_ID": creds.sk_client_id,
        "SK_BASE_URL": emu.spaceknow_url,
        "SK_AUTH_URL": emu.spaceknow_auth_url,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }


async def planet_order(sh: SentinelHub, emu: Emulator) -> None:
    """What the BYOC example expects of the account: Planet data, ingested."""
    collection = await sh.byoc.create_collection({"name": "Ljubljana order", "s3Bucket": PLANET_BUCKET})
    await sh.byoc.create_tile(collection.id, {"path": "2023/06/20230612_095412_41_2481"})
    emu.clock.advance(3600)


# -- the blocks are found, and every one is run or says why not ----------------------------------------


def test_the_readme_has_python_blocks_and_each_one_is_python() -> None:
    assert len(PYTHON) >= 4
    for block in PYTHON:
        ast.parse(block.code, filename=f"README.md:{block.line}")  # an unrun block too


async def test_a_failing_block_fails_with_its_readme_line_and_a_marked_one_is_not_run() -> None:
    text = (
        "<!-- not run: a sketch -->\n```python\nx = 1\n```\n\n```python\nawait asyncio.sleep(0)\n1 / 0\n```\n"
    )
    marked, failing = blocks(text)
    assert (marked.not_run, failing.not_run) == ("a sketch", None)
    with pytest.raises(ZeroDivisionError) as info:
        await run_block(failing, {"asyncio": asyncio})
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno) == (str(README), 8)


# -- the examples ---------------------------------------------------------------------------------------


@pytest.mark.eo_emulator(clock_speed=20_000.0)
async def test_every_readme_example_runs_as_written(
    eo_emulator: Emulator,
    eo_sentinelhub: SentinelHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("EOCLIENT_CONFIG", "EOCLIENT_PROFILE", "SH_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator_environment(eo_emulator, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    await planet_order(eo_sentinelhub, eo_emulator)

    namespace: dict[str, object] = {"__name__": "__readme__"}
    ran = 0
    for block in PYTHON:
        if block.not_run is not None or block.is_test_file:
            continue
        try:
            await run_block(block, namespace)
        except Exception as exc:
            raise AssertionError(f"the README's block at line {block.line} failed: {exc!r}") from exc
        output = capsys.readouterr().out
        for snippet, expected in EXPECTED_OUTPUT.items():
            if snippet in block.code:
                assert expected.search(output), (block.line, snippet, output)
        ran += 1
    assert ran >= 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir())  # the Planet files were downloaded
    assert any((tmp_path / "maps").rglob("*.png"))  # and the Kraken map
    assert (tmp_path / "scene.tif").stat().st_size > 0


@pytest.mark.parametrize("block", [b for b in PYTHON if b.is_test_file], ids=lambda b: f"line{b.line}")
def test_readme_test_files_pass_under_plain_pytest(block: Block, tmp_path: Path) -> None:
    assert block.not_run is None, block.not_run
    (tmp_path / "test_readme_example.py").write_text(block.code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    checkout = str(Path(eoclient.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([checkout, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    tests = len(re.findall(r"^(?:async )?def test_", block.code, re.MULTILINE))
    assert done.returncode == 0 and f"{tests} passed" in done.stdout, done.stdout + done.stderr

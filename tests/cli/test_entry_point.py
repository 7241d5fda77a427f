"""``python -m eoclient`` as a user runs it: help, the emulator's environment, import weight, config."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eoclient.cli import main
from tests.cli.helpers import cli

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("EOCLIENT_CONFIG", None)
    return env


def test_help_lists_the_commands_and_the_exit_codes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "eoclient", "--help"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for word in (
        "catalog",
        "process",
        "batch-stats",
        "async-process",
        "byoc",
        "spaceknow",
        "emulator",
        "config",
        "demo",
        "Exit codes",
        "130",
    ):
        assert word in proc.stdout


def _loaded(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in ('click', 'rich') if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60, check=True
    )
    return [m for m in proc.stdout.strip().split(",") if m]


def test_import_eoclient_loads_no_cli_library() -> None:
    # structlog's dev renderer imports rich itself when rich is installed: that part is not ours.
    by_structlog = _loaded("import structlog")
    assert [m for m in _loaded("import eoclient") if m not in by_structlog] == []
    assert "click" not in _loaded("import eoclient")


def test_emulator_serve_env_is_evaluable_and_reaches_the_emulator(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "eoclient", "emulator", "serve", "--env", "--clock-speed", "500"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env()
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(13)]
            assert all(line.startswith("export ") for line in lines), lines
            script = (
                "".join(lines) + 'echo "$SH_BASE_URL"; python -m eoclient catalog search sentinel-2-l2a '
                "--bbox 10,45,20,52 --datetime 2023-06-01/2023-06-30 --max-items 2\n"
            )
            env = {
                k: v
                for k, v in _env(XDG_CONFIG_HOME=str(tmp_path)).items()
                if not k.startswith(("SH_", "SK_", "AWS_"))
            }
            env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
            shell = subprocess.run(
                ["sh", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
            )
            assert shell.returncode == 0, shell.stderr
            url, *features = shell.stdout.splitlines()
            assert url.startswith("http://127.0.0.1:") and len(features) == 2
        finally:
            proc.terminate()


def test_config_set_and_show_mask_secrets(capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "eoclient.toml"
    monkeypatch.setenv("EOCLIENT_CONFIG", str(config))
    for name in ("SH_CLIENT_ID", "SH_CLIENT_SECRET", "SK_USERNAME", "SK_PASSWORD", "EOCLIENT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cr3t-value-123\n"))
    assert cli(capsys, "config", "set", "sentinelhub.client_secret", "-", "--profile", "work").code == 0
    ran = cli(capsys, "config", "set", "sentinelhub.client_id", "my-id", "--profile", "work")
    assert ran.code == 0 and "s3cr3t" not in ran.out
    assert config.stat().st_mode & 0o077 == 0
    shown = cli(capsys, "config", "show", "--profile", "work")
    assert shown.code == 0
    [record] = shown.lines()
    assert record["sentinelhub"] == {
        "configured": True,
        "client_id": "my-id",
        "client_secret": "***",
        "base_url": "https://services.sentinel-hub.com",
        "token_url": record["sentinelhub"]["token_url"],
    }
    assert record["spaceknow"]["configured"] is False
    assert "s3cr3t-value-123" not in shown.out + shown.err
    bad = cli(capsys, "config", "set", "sentinelhub.base_url", "ftp://x")
    assert bad.code == 2 and "http" in bad.err
    assert cli(capsys, "config", "set", "sentinelhub.nope", "x").code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.usefixtures("emu_env")
def test_a_terminal_gets_tables_not_json(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    screen = _Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    code = main(
        [
            "catalog",
            "search",
            "sentinel-2-l2a",
            "--bbox",
            "10,45,20,52",
            "--datetime",
            "2023-06-01/2023-06-30",
            "--max-items",
            "3",
        ]
    )
    assert code == 0
    text = screen.getvalue()
    assert "Catalog items" in text and "cloud cover" in text and not text.lstrip().startswith("{")
    screen.seek(0)
    screen.truncate()
    assert (
        main(
            [
                "catalog",
                "search",
                "sentinel-2-l2a",
                "--bbox",
                "10,45,20,52",
                "--datetime",
                "2023-06-01/2023-06-30",
                "--max-items",
                "1",
                "--json",
            ]
        )
        == 0
    )
    assert screen.getvalue().startswith('{"')

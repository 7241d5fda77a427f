"""``config show`` / ``config set``: the profiles of the config file; secrets are always masked."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import click

from eoclient._redact import REDACTED
from eoclient.cli.app import State, common, root
from eoclient.cli.failures import CliError
from eoclient.config import default_config_path, sentinelhub_settings, spaceknow_settings
from eoclient.errors import ConfigurationError

__all__ = ["config_group"]

KEYS: Final = {
    "sentinelhub": ("client_id", "client_secret", "base_url", "token_url"),
    "spaceknow": ("username", "password", "client_id", "base_url", "auth_url"),
}
SECRETS: Final = frozenset({"client_secret", "password"})


@root.group("config")
def config_group() -> None:
    """Profiles of the config file (credentials and URLs of each service)."""


def _config_path() -> Path:
    state = State.get()
    return Path(state.config).expanduser() if state.config else default_config_path()


def _resolved(service: str) -> dict[str, Any]:
    """What a client of ``service`` would use now (arguments, env, files), secrets masked."""
    state = State.get()
    resolve = sentinelhub_settings if service == "sentinelhub" else spaceknow_settings
    try:
        settings = resolve(profile=state.profile, config_file=state.config)
    except ConfigurationError as exc:
        return {"configured": False, "problem": str(exc)}
    shown: dict[str, Any] = {"configured": True}
    for key in KEYS[service]:
        shown[key] = REDACTED if key in SECRETS else getattr(settings, key)
    return shown


@config_group.command("show")
@common
def show() -> None:
    """The settings each service would use now, and where the config file is (secrets masked)."""
    state = State.get()
    out = state.out
    profile = state.profile or os.environ.get("EOCLIENT_PROFILE") or "default"
    path = _config_path()
    record = {
        "config_file": path,
        "exists": path.is_file(),
        "profile": profile,
        "sentinelhub": _resolved("sentinelhub"),
        "spaceknow": _resolved("spaceknow"),
    }
    if out.json_lines:
        out.line(record)
        return
    out.record(
        {"config file": f"{path}{'' if path.is_file() else ' (not there)'}", "profile": profile},
        title="eoclient configuration",
    )
    for service in KEYS:
        out.record(record[service], title=service)


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's
    raise CliError(f"the config file holds {where} of a kind `config set` does not rewrite; edit it by hand")


def _dump(data: dict[str, Any]) -> str:
    """The config file's text: ``[profile.service]`` tables of scalar values."""
    lines: list[str] = []
    for profile, services in data.items():
        if not isinstance(services, dict):
            raise CliError(f"the config file's {profile!r} is not a table; edit it by hand")
        for service, table in services.items():
            if not isinstance(table, dict):
                raise CliError(f"the config file's {profile}.{service} is not a table; edit it by hand")
            lines.append(f"[{json.dumps(profile)}.{json.dumps(service)}]")
            lines.extend(
                f"{key} = {_toml_value(v, f'{profile}.{service}.{key}')}" for key, v in table.items()
            )
            lines.append("")
    return "\n".join(lines)


@config_group.command("set")
@click.argument("key", metavar="SERVICE.KEY")
@click.argument("value")
@common
def set_(key: str, value: str) -> None:
    """Set SERVICE.KEY (e.g. sentinelhub.client_id) in a profile; VALUE - reads it from stdin.

    \b
    Keys: sentinelhub.client_id, .client_secret, .base_url, .token_url;
          spaceknow.username, .password, .client_id, .base_url, .auth_url.
    The file is created readable by you only.
    """
    service, _, name = key.partition(".")
    if service not in KEYS or name not in KEYS[service]:
        known = ", ".join(f"{s}.{k}" for s, keys in KEYS.items() for k in keys)
        raise CliError(f"unknown key {key!r}; one of {known}")
    if value == "-":
        value = sys.stdin.readline().rstrip("\n")
    if not value:
        raise CliError(f"{key}: the value is empty")
    if name.endswith("_url"):
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(f"{key}: must be an http:// or https:// URL with a host, got {value!r}")
    state = State.get()
    profile = state.profile or os.environ.get("EOCLIENT_PROFILE") or "default"
    path = _config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read the config file {path}: {exc}") from None
    data.setdefault(profile, {}).setdefault(service, {})[name] = value
    text = _dump(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # credentials: owner only
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
    shown = REDACTED if name in SECRETS else value
    state.out.record({"config_file": path, "profile": profile, "key": key, "value": shown}, title="Set")

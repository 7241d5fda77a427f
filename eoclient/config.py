"""Where credentials and URLs come from: arguments, then environment, then a config file.

Environment variables
---------------------
Sentinel Hub: ``SH_CLIENT_ID``, ``SH_CLIENT_SECRET``, ``SH_BASE_URL``, ``SH_TOKEN_URL``
(the first two are the names the official ``sentinelhub`` package uses).
SpaceKnow: ``SK_USERNAME``, ``SK_PASSWORD``, ``SK_CLIENT_ID``, ``SK_BASE_URL``, ``SK_AUTH_URL``.
Both: ``EOCLIENT_CONFIG`` (path of the TOML file) and ``EOCLIENT_PROFILE`` (profile name).

Config file
-----------
``$EOCLIENT_CONFIG``, else ``$XDG_CONFIG_HOME/eoclient/config.toml`` (``~/.config/...``).
One table per profile and service; the profile ``default`` is used unless another
is named::

    [default.sentinelhub]
    client_id = "..."
    client_secret = "..."

    [cdse.sentinelhub]            # Copernicus Data Space: only the URLs differ
    client_id = "..."
    client_secret = "..."
    base_url = "https://sh.dataspace.copernicus.eu"
    token_url = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"

    [default.spaceknow]
    username = "me@example.com"
    password = "..."

Secrets are held as :class:`~eoclient._redact.Secret` and never printed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eoclient._http.auth import SPACEKNOW_CLIENT_ID
from eoclient._redact import Secret
from eoclient.errors import ConfigurationError

__all__ = [
    "SENTINELHUB_BASE_URL",
    "SENTINELHUB_TOKEN_URL",
    "SPACEKNOW_AUTH_URL",
    "SPACEKNOW_BASE_URL",
    "SentinelHubSettings",
    "SpaceKnowSettings",
    "default_config_path",
    "sentinelhub_settings",
    "spaceknow_settings",
]

SENTINELHUB_BASE_URL: Final = "https://services.sentinel-hub.com"
SENTINELHUB_TOKEN_URL: Final = (
    "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"  # noqa: S105 - a URL
)
SPACEKNOW_BASE_URL: Final = "https://api.spaceknow.com"
SPACEKNOW_AUTH_URL: Final = "https://spaceknow.auth0.com/oauth/ro"


@dataclass(frozen=True, slots=True)
class SentinelHubSettings:
    """Resolved Sentinel Hub connection settings."""

    client_id: str
    client_secret: Secret
    base_url: str = SENTINELHUB_BASE_URL
    token_url: str = SENTINELHUB_TOKEN_URL


@dataclass(frozen=True, slots=True)
class SpaceKnowSettings:
    """Resolved SpaceKnow connection settings."""

    username: str
    password: Secret
    client_id: str = SPACEKNOW_CLIENT_ID
    base_url: str = SPACEKNOW_BASE_URL
    auth_url: str = SPACEKNOW_AUTH_URL


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file consulted when none is named."""
    env = os.environ if env is None else env
    if env.get("EOCLIENT_CONFIG"):
        return Path(env["EOCLIENT_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "eoclient" / "config.toml"


def _profile_table(
    service: str, profile: str | None, config_file: str | Path | None, env: Mapping[str, str]
) -> dict[str, Any]:
    explicit_file = config_file is not None or bool(env.get("EOCLIENT_CONFIG"))
    path = Path(config_file).expanduser() if config_file is not None else default_config_path(env)
    name = profile or env.get("EOCLIENT_PROFILE") or "default"
    explicit_profile = profile is not None or bool(env.get("EOCLIENT_PROFILE"))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if explicit_file:
            raise ConfigurationError(f"config file {str(path)!r} does not exist") from None
        if explicit_profile and name != "default":
            raise ConfigurationError(
                f"profile {name!r} requested but there is no config file at {str(path)!r}"
            ) from None
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    table = data.get(name)
    if table is None:
        if explicit_profile and name != "default":
            raise ConfigurationError(f"profile {name!r} not found in {str(path)!r}")
        return {}
    if not isinstance(table, dict):
        raise ConfigurationError(f"profile {name!r} in {str(path)!r} must be a table")
    section = table.get(service, {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"[{name}.{service}] in {str(path)!r} must be a table")
    return section


def _resolve(
    fields: Mapping[str, tuple[Any, str]],
    table: Mapping[str, Any],
    env: Mapping[str, str],
) -> dict[str, Any]:
    """For each field: argument, then environment variable, then config table."""
    out: dict[str, Any] = {}
    for name, (arg, var) in fields.items():
        if arg is not None:
            value = arg.reveal() if isinstance(arg, Secret) else arg
        elif env.get(var):
            value = env[var]
        else:
            value = table.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{name} must be a string (from the config file)")
        if value is not None:
            out[name] = value
    return out


def _require(service: str, values: dict[str, Any], required: Mapping[str, str]) -> None:
    missing = [name for name in required if not values.get(name)]
    if missing:
        hints = ", ".join(f"{name} (argument {name}=, env {required[name]})" for name in missing)
        raise ConfigurationError(
            f"{service}: missing {hints}, or set them in the config file {str(default_config_path())!r}"
        )


def sentinelhub_settings(
    *,
    client_id: str | None = None,
    client_secret: str | Secret | None = None,
    base_url: str | None = None,
    token_url: str | None = None,
    profile: str | None = None,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SentinelHubSettings:
    """Resolve Sentinel Hub settings; raises :class:`ConfigurationError` naming what is missing."""
    env = os.environ if env is None else env
    fields = {
        "client_id": (client_id, "SH_CLIENT_ID"),
        "client_secret": (client_secret, "SH_CLIENT_SECRET"),
        "base_url": (base_url, "SH_BASE_URL"),
        "token_url": (token_url, "SH_TOKEN_URL"),
    }
    values = _resolve(fields, _profile_table("sentinelhub", profile, config_file, env), env)
    _require("Sentinel Hub", values, {"client_id": "SH_CLIENT_ID", "client_secret": "SH_CLIENT_SECRET"})
    values["client_secret"] = Secret(values["client_secret"])
    return SentinelHubSettings(**values)


def spaceknow_settings(
    *,
    username: str | None = None,
    password: str | Secret | None = None,
    client_id: str | None = None,
    base_url: str | None = None,
    auth_url: str | None = None,
    profile: str | None = None,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SpaceKnowSettings:
    """Resolve SpaceKnow settings; raises :class:`ConfigurationError` naming what is missing."""
    env = os.environ if env is None else env
    fields = {
        "username": (username, "SK_USERNAME"),
        "password": (password, "SK_PASSWORD"),
        "client_id": (client_id, "SK_CLIENT_ID"),
        "base_url": (base_url, "SK_BASE_URL"),
        "auth_url": (auth_url, "SK_AUTH_URL"),
    }
    values = _resolve(fields, _profile_table("spaceknow", profile, config_file, env), env)
    _require("SpaceKnow", values, {"username": "SK_USERNAME", "password": "SK_PASSWORD"})
    values["password"] = Secret(values["password"])
    return SpaceKnowSettings(**values)

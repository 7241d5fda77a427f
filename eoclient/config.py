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

The sentinelhub-py config file
------------------------------
When the eoclient file has no ``[<profile>.sentinelhub]`` table (or there is no
eoclient file), Sentinel Hub settings come from the file the official
``sentinelhub`` package (sentinelhub-py 3.9 and later) writes, so migrating
users need to set nothing: ``$XDG_CONFIG_HOME/sentinelhub/config.toml``, else
``~/.config/sentinelhub/config.toml`` (:func:`sentinelhub_py_config_path`).
Its keys map to ours::

    [default-profile]                  # eoclient's "default"
    sh_client_id = "..."               # -> client_id
    sh_client_secret = "..."           # -> client_secret
    sh_base_url = "..."                # -> base_url
    sh_token_url = "..."               # -> token_url
    # sh_auth_base_url = "..."         # (deprecated there) -> token_url = it + "/oauth/token"

Its profile is the one named to eoclient (argument ``profile=`` or
``EOCLIENT_PROFILE``; eoclient's ``default`` is sentinelhub-py's
``default-profile``); when none is named, sentinelhub-py's own ``SH_PROFILE``
picks it, else ``default-profile``. Empty strings (sentinelhub-py's "not set")
are ignored, as are its other keys. The two files are never mixed: the whole
table comes from one of them. Precedence, per setting: arguments, then
environment variables, then the eoclient file, then the sentinelhub-py file.

Secrets are held as :class:`~eoclient._redact.Secret` and never printed. URLs
(``base_url``, ``token_url``, ``auth_url``) must be ``http://`` or ``https://``
URLs with a host: a wrong argument is a :class:`~eoclient.errors.ValidationError`
naming it, a wrong environment variable or file key a
:class:`~eoclient.errors.ConfigurationError` naming the variable or the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from eoclient._http.auth import SPACEKNOW_CLIENT_ID
from eoclient._redact import Secret
from eoclient.errors import ConfigurationError, ValidationError

__all__ = [
    "SENTINELHUB_BASE_URL",
    "SENTINELHUB_PY_DEFAULT_PROFILE",
    "SENTINELHUB_TOKEN_URL",
    "SPACEKNOW_AUTH_URL",
    "SPACEKNOW_BASE_URL",
    "SentinelHubSettings",
    "SpaceKnowSettings",
    "default_config_path",
    "sentinelhub_py_config_path",
    "sentinelhub_settings",
    "spaceknow_settings",
]

SENTINELHUB_BASE_URL: Final = "https://services.sentinel-hub.com"
SENTINELHUB_TOKEN_URL: Final = (
    "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"  # noqa: S105 - a URL
)
SPACEKNOW_BASE_URL: Final = "https://api.spaceknow.com"
SPACEKNOW_AUTH_URL: Final = "https://spaceknow.auth0.com/oauth/ro"

SENTINELHUB_PY_DEFAULT_PROFILE: Final = "default-profile"
"""The profile sentinelhub-py uses when none is named (eoclient's ``default``)."""
# sentinelhub-py key -> eoclient field.
_SENTINELHUB_PY_KEYS: Final = {
    "sh_client_id": "client_id",
    "sh_client_secret": "client_secret",
    "sh_base_url": "base_url",
    "sh_token_url": "token_url",
}


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


def _config_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or Path("~/.config").expanduser())


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file consulted when none is named."""
    env = os.environ if env is None else env
    if env.get("EOCLIENT_CONFIG"):
        return Path(env["EOCLIENT_CONFIG"]).expanduser()
    return _config_home(env) / "eoclient" / "config.toml"


def sentinelhub_py_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where sentinelhub-py keeps its config file (``SHConfig.get_config_location()``)."""
    return _config_home(os.environ if env is None else env) / "sentinelhub" / "config.toml"


def _load_toml(path: Path) -> dict[str, Any] | None:
    """The parsed file, ``None`` if it does not exist; unreadable or invalid files are errors."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Lookup:
    """The eoclient file's answer for one service: its table, if any, and how the profile was chosen."""

    section: dict[str, Any] | None  # None: no [<profile>.<service>] table
    path: Path
    profile: str
    explicit_profile: bool  # named by argument or EOCLIENT_PROFILE
    profile_found: bool  # the file has a [<profile>] table


def _profile_table(
    service: str, profile: str | None, config_file: str | Path | None, env: Mapping[str, str]
) -> _Lookup:
    explicit_file = config_file is not None or bool(env.get("EOCLIENT_CONFIG"))
    path = Path(config_file).expanduser() if config_file is not None else default_config_path(env)
    name = profile or env.get("EOCLIENT_PROFILE") or "default"
    explicit = profile is not None or bool(env.get("EOCLIENT_PROFILE"))
    data = _load_toml(path)
    if data is None:
        if explicit_file:
            raise ConfigurationError(f"config file {str(path)!r} does not exist")
        return _Lookup(None, path, name, explicit, profile_found=False)
    table = data.get(name)
    if table is None:
        return _Lookup(None, path, name, explicit, profile_found=False)
    if not isinstance(table, dict):
        raise ConfigurationError(f"profile {name!r} in {str(path)!r} must be a table")
    section = table.get(service)
    if section is not None and not isinstance(section, dict):
        raise ConfigurationError(f"[{name}.{service}] in {str(path)!r} must be a table")
    return _Lookup(section, path, name, explicit, profile_found=True)


def _profile_missing(lookup: _Lookup, also: str = "") -> ConfigurationError:
    if not lookup.path.exists():
        where = f"there is no config file at {str(lookup.path)!r}"
        return ConfigurationError(f"profile {lookup.profile!r} requested but {where}{also}")
    return ConfigurationError(f"profile {lookup.profile!r} not found in {str(lookup.path)!r}{also}")


def _sentinelhub_py_table(lookup: _Lookup, env: Mapping[str, str]) -> tuple[dict[str, Any] | None, Path]:
    """The sentinelhub-py profile for ``lookup``, in eoclient's keys (``None``: no such profile)."""
    path = sentinelhub_py_config_path(env)
    if lookup.explicit_profile:
        name = SENTINELHUB_PY_DEFAULT_PROFILE if lookup.profile == "default" else lookup.profile
    else:
        name = env.get("SH_PROFILE") or SENTINELHUB_PY_DEFAULT_PROFILE
    data = _load_toml(path)
    table = None if data is None else data.get(name)
    if table is None:
        return None, path
    if not isinstance(table, dict):
        raise ConfigurationError(f"profile {name!r} in {str(path)!r} must be a table")
    # sentinelhub-py writes "" for a credential it does not have.
    mapped = {
        ours: table[theirs]
        for theirs, ours in _SENTINELHUB_PY_KEYS.items()
        if table.get(theirs) not in (None, "")
    }
    auth_base = table.get("sh_auth_base_url")
    if isinstance(auth_base, str) and auth_base:
        # Its deprecated key wins over sh_token_url there too.
        mapped["token_url"] = auth_base.rstrip("/") + "/oauth/token"
    return mapped, path


def _resolve(
    fields: Mapping[str, tuple[Any, str]],
    table: Mapping[str, Any],
    env: Mapping[str, str],
    source: Path,
) -> dict[str, Any]:
    """For each field: argument, then environment variable, then config table.

    Each value is checked where it comes from: an argument of the wrong type
    or a URL that is not ``http(s)://`` is a :class:`ValidationError` naming the
    argument; from the environment or a file, a :class:`ConfigurationError`
    naming the variable or the file and key.
    """
    out: dict[str, Any] = {}
    for name, (arg, var) in fields.items():
        value: str | None
        if arg is not None:
            if not isinstance(arg, str | Secret):
                raise ValidationError(name, f"must be a string, got {type(arg).__name__}")
            value = arg.reveal() if isinstance(arg, Secret) else arg
            where = "argument"
        elif env.get(var):
            value, where = env[var], f"environment variable {var}"
        else:
            value = table.get(name)
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{name} must be a string (in the config file {str(source)!r})")
            where = f"config file {str(source)!r}"
        if value is not None:
            if name in _URL_SETTINGS:
                _check_url(name, value, where)
            out[name] = value
    return out


_URL_SETTINGS: Final = frozenset({"base_url", "token_url", "auth_url"})


def _check_url(name: str, value: str, where: str) -> None:
    """A service or login URL must be absolute ``http://`` or ``https://`` with a host."""
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return
    problem = f"must be an http:// or https:// URL with a host, got {value!r}"
    if where == "argument":
        raise ValidationError(name, problem)
    raise ConfigurationError(f"{name} (from the {where}) {problem}")


def _require(service: str, values: dict[str, Any], required: Mapping[str, str], files: str) -> None:
    missing = [name for name in required if not values.get(name)]
    if missing:
        hints = ", ".join(f"{name} (argument {name}=, env {required[name]})" for name in missing)
        raise ConfigurationError(f"{service}: missing {hints}, or set them in {files}")


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
    """Resolve Sentinel Hub settings; raises :class:`ConfigurationError` naming what is missing.

    Arguments, then ``SH_*`` environment variables, then the eoclient config
    file, then sentinelhub-py's config file (see the module docstring).
    """
    env = os.environ if env is None else env
    fields = {
        "client_id": (client_id, "SH_CLIENT_ID"),
        "client_secret": (client_secret, "SH_CLIENT_SECRET"),
        "base_url": (base_url, "SH_BASE_URL"),
        "token_url": (token_url, "SH_TOKEN_URL"),
    }
    lookup = _profile_table("sentinelhub", profile, config_file, env)
    table, source = lookup.section, lookup.path
    if table is None:
        table, source = _sentinelhub_py_table(lookup, env)
        if table is None:
            if lookup.explicit_profile and lookup.profile != "default" and not lookup.profile_found:
                raise _profile_missing(lookup, f" nor in the sentinelhub-py config file {str(source)!r}")
            table = {}
    values = _resolve(fields, table, env, source)
    files = (
        f"the config file {str(lookup.path)!r} "
        f"(or the sentinelhub-py config file {str(sentinelhub_py_config_path(env))!r})"
    )
    _require(
        "Sentinel Hub", values, {"client_id": "SH_CLIENT_ID", "client_secret": "SH_CLIENT_SECRET"}, files
    )
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
    lookup = _profile_table("spaceknow", profile, config_file, env)
    if lookup.explicit_profile and lookup.profile != "default" and not lookup.profile_found:
        raise _profile_missing(lookup)
    values = _resolve(fields, lookup.section or {}, env, lookup.path)
    files = f"the config file {str(lookup.path)!r}"
    _require("SpaceKnow", values, {"username": "SK_USERNAME", "password": "SK_PASSWORD"}, files)
    values["password"] = Secret(values["password"])
    return SpaceKnowSettings(**values)

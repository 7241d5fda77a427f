"""Where the object store is and who we are to it: explicit arguments, then ``AWS_*``, then a profile.

Follows the AWS ecosystem's conventions so that a store configured for the
AWS CLI or boto3 works here unchanged. These settings are independent of the
Sentinel Hub credentials (Copernicus Data Space's S3 keys are not its OAuth
client). Secrets are :class:`~eoclient._redact.Secret`: registered for
scrubbing, never shown in reprs, logs or errors.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path

from eoclient._redact import Secret
from eoclient.errors import ConfigurationError

__all__ = ["StorageSettings"]


def _read_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a valid AWS config file ({type(exc).__name__})") from None
    return parser


def _profile(env: Mapping[str, str], name: str, *, explicit: bool) -> dict[str, str]:
    """The profile's keys: ``~/.aws/credentials`` ``[name]`` over ``~/.aws/config`` ``[profile name]``."""
    home = Path(env.get("HOME") or Path.home())
    creds_file = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials").expanduser()
    config_file = Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    found: dict[str, str] = {}
    seen = False
    config = _read_ini(config_file)
    section = name if name == "default" else f"profile {name}"
    for sec in (section, name) if name == "default" else (section,):
        if config.has_section(sec):
            found.update(config.items(sec))
            seen = True
    creds = _read_ini(creds_file)
    if creds.has_section(name):
        found.update(creds.items(name))
        seen = True
    if explicit and not seen:
        raise ConfigurationError(f"AWS profile {name!r} is not in {creds_file} or {config_file}")
    return found


class StorageSettings:
    """How to reach an S3 or S3-compatible store (AWS, Copernicus Data Space, MinIO...).

    Each value comes from, in order: the argument; the environment
    (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
    ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``/
    ``AWS_ENDPOINT_URL``); an AWS profile (``profile``, else ``AWS_PROFILE``,
    else ``default``) read from ``~/.aws/credentials`` and ``~/.aws/config``
    (or ``AWS_SHARED_CREDENTIALS_FILE``/``AWS_CONFIG_FILE``). Credentials go
    together: a key id and its secret come from the same place. A profile
    named explicitly wins over the environment's keys. Without credentials
    requests are sent unsigned (public buckets).

    Example::

        settings = StorageSettings(endpoint="https://eodata.dataspace.copernicus.eu",
                                   access_key="...", secret_key="...")
    """

    endpoint: str | None
    access_key: str | None
    secret_key: Secret | None
    session_token: Secret | None
    region: str | None
    profile: str | None

    def __init__(  # noqa: PLR0917 - the brief's positional order: endpoint, keys, region...
        self,
        endpoint: str | None = None,
        access_key: str | None = None,
        secret_key: str | Secret | None = None,
        region: str | None = None,
        profile: str | None = None,
        session_token: str | Secret | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        name = profile or env.get("AWS_PROFILE") or "default"
        prof = _profile(env, name, explicit=bool(profile or env.get("AWS_PROFILE")))
        self.profile = name if prof else None

        if access_key is not None or secret_key is not None:
            if not access_key or not secret_key:
                raise ConfigurationError("storage: access_key and secret_key go together; give both")
            key, secret, token = access_key, secret_key, session_token
        elif not profile and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
            key, secret = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
            token = session_token or env.get("AWS_SESSION_TOKEN")
        elif prof.get("aws_access_key_id") and prof.get("aws_secret_access_key"):
            key, secret = prof["aws_access_key_id"], prof["aws_secret_access_key"]
            token = session_token or prof.get("aws_session_token")
        else:
            key, secret, token = None, None, session_token
        self.access_key = key
        self.secret_key = _secret(secret)
        self.session_token = _secret(token)
        self.region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or prof.get("region")
        self.endpoint = (
            endpoint
            or env.get("AWS_ENDPOINT_URL_S3")
            or env.get("AWS_ENDPOINT_URL")
            or prof.get("endpoint_url")
        )
        if self.endpoint is not None and not self.endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"storage endpoint must be an http(s) URL, got {self.endpoint!r}")

    @property
    def anonymous(self) -> bool:
        """True when no credentials were found: requests go unsigned."""
        return self.access_key is None

    def __repr__(self) -> str:
        return (
            f"StorageSettings(endpoint={self.endpoint!r}, access_key={self.access_key!r}, "
            f"secret_key={self.secret_key!r}, region={self.region!r}, profile={self.profile!r}, "
            f"session_token={self.session_token!r})"
        )


def _secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)

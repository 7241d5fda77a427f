"""Settings: arguments win over environment, environment over the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoclient.config import sentinelhub_settings, spaceknow_settings
from eoclient.errors import ConfigurationError

TOML = """
[default.sentinelhub]
client_id = "file-id"
client_secret = "file-secret-123"

[cdse.sentinelhub]
client_id = "cdse-id"
client_secret = "cdse-secret-123"
base_url = "https://sh.dataspace.copernicus.eu"
token_url = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"

[default.spaceknow]
username = "file@example.com"
password = "file-password"
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(TOML)
    return path


def test_file_profile_default(config_file: Path) -> None:
    s = sentinelhub_settings(config_file=config_file, env={})
    assert s.client_id == "file-id"
    assert s.client_secret.reveal() == "file-secret-123"
    assert s.base_url == "https://services.sentinel-hub.com"
    assert s.token_url.endswith("/auth/realms/main/protocol/openid-connect/token")


def test_named_profile_changes_urls(config_file: Path) -> None:
    s = sentinelhub_settings(config_file=config_file, profile="cdse", env={})
    assert s.base_url == "https://sh.dataspace.copernicus.eu"
    assert "CDSE" in s.token_url


def test_env_overrides_file_and_args_override_env(config_file: Path) -> None:
    env = {"SH_CLIENT_ID": "env-id", "SH_CLIENT_SECRET": "env-secret-1", "EOCLIENT_CONFIG": str(config_file)}
    s = sentinelhub_settings(env=env)
    assert s.client_id == "env-id"
    assert s.client_secret.reveal() == "env-secret-1"
    s = sentinelhub_settings(client_id="arg-id", env=env)
    assert s.client_id == "arg-id"
    assert s.client_secret.reveal() == "env-secret-1"


def test_profile_from_env(config_file: Path) -> None:
    s = sentinelhub_settings(env={"EOCLIENT_CONFIG": str(config_file), "EOCLIENT_PROFILE": "cdse"})
    assert s.client_id == "cdse-id"


def test_spaceknow_settings(config_file: Path) -> None:
    s = spaceknow_settings(config_file=config_file, env={"SK_AUTH_URL": "https://auth.test/ro"})
    assert s.username == "file@example.com"
    assert s.password.reveal() == "file-password"
    assert s.auth_url == "https://auth.test/ro"
    assert s.client_id == "hmWJcfhRouDOaJK2L8asREMlMrv3jFE1"


def test_missing_credentials_name_the_fields(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        sentinelhub_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})
    text = str(info.value)
    assert "client_id" in text and "SH_CLIENT_ID" in text
    assert "client_secret" in text and "SH_CLIENT_SECRET" in text


def test_unknown_profile_is_error(config_file: Path) -> None:
    with pytest.raises(ConfigurationError, match="profile 'nope'"):
        sentinelhub_settings(config_file=config_file, profile="nope", env={})


def test_missing_named_file_is_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        sentinelhub_settings(config_file=tmp_path / "absent.toml", env={})


def test_bad_toml_is_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[default\nclient_id=")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        sentinelhub_settings(config_file=bad, env={})


def test_secret_never_in_settings_repr(config_file: Path) -> None:
    s = sentinelhub_settings(config_file=config_file, env={})
    assert "file-secret-123" not in repr(s)

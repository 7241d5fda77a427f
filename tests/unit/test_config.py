"""Settings: arguments win over environment, environment over the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from eoclient.config import sentinelhub_py_config_path, sentinelhub_settings, spaceknow_settings
from eoclient.errors import ConfigurationError
from eoclient.sentinelhub import SentinelHub

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


@pytest.fixture(autouse=True)
def _no_real_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that pass ``env={}`` fall back to ``~/.config``: point ``~`` at an empty directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)


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


# -- the sentinelhub-py config file --------------------------------------------------

SH_PY_TOML = """
[default-profile]
sh_client_id = "shpy-id"
sh_client_secret = "shpy-secret-123"
instance_id = "ignored"
max_download_attempts = 7

[cdse]
sh_client_id = "shpy-cdse-id"
sh_client_secret = "shpy-cdse-secret"
sh_base_url = "https://sh.dataspace.copernicus.eu"
sh_token_url = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"

[blank]
sh_client_id = ""
sh_client_secret = ""

[legacy]
sh_client_id = "legacy-id"
sh_client_secret = "legacy-secret"
sh_auth_base_url = "https://auth.example.com/"
sh_token_url = "https://ignored.example.com/token"
"""


@pytest.fixture
def xdg(tmp_path: Path) -> Path:
    """A config home holding sentinelhub-py's file (and no eoclient file)."""
    home = tmp_path / "xdg"
    (home / "sentinelhub").mkdir(parents=True)
    (home / "sentinelhub" / "config.toml").write_text(SH_PY_TOML)
    return home


def test_sentinelhub_py_location_follows_xdg(tmp_path: Path) -> None:
    assert sentinelhub_py_config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "sentinelhub" / "config.toml"
    )
    assert sentinelhub_py_config_path({}) == tmp_path / "home" / ".config" / "sentinelhub" / "config.toml"


def test_sentinelhub_py_file_when_there_is_no_eoclient_file(xdg: Path) -> None:
    s = sentinelhub_settings(env={"XDG_CONFIG_HOME": str(xdg)})
    assert s.client_id == "shpy-id"
    assert s.client_secret.reveal() == "shpy-secret-123"
    assert s.base_url == "https://services.sentinel-hub.com"  # defaults where the file says nothing
    assert "shpy-secret-123" not in repr(s)


def test_sentinelhub_py_file_when_the_profile_has_no_sentinelhub_table(xdg: Path) -> None:
    (xdg / "eoclient").mkdir()
    (xdg / "eoclient" / "config.toml").write_text(
        '[default.spaceknow]\nusername = "u"\npassword = "p-123456"\n'
    )
    s = sentinelhub_settings(env={"XDG_CONFIG_HOME": str(xdg)})
    assert s.client_id == "shpy-id"


def test_eoclient_table_wins_and_files_are_not_mixed(xdg: Path) -> None:
    (xdg / "eoclient").mkdir()
    (xdg / "eoclient" / "config.toml").write_text(
        '[cdse.sentinelhub]\nclient_id = "eo-id"\nclient_secret = "eo-secret-123"\n'
    )
    s = sentinelhub_settings(profile="cdse", env={"XDG_CONFIG_HOME": str(xdg)})
    assert s.client_id == "eo-id"
    # the sentinelhub-py [cdse] profile has CDSE URLs, but the table comes from one file only
    assert s.base_url == "https://services.sentinel-hub.com"


def test_sh_profile_picks_the_profile_when_none_is_named(xdg: Path) -> None:
    s = sentinelhub_settings(env={"XDG_CONFIG_HOME": str(xdg), "SH_PROFILE": "cdse"})
    assert s.client_id == "shpy-cdse-id"
    assert s.base_url == "https://sh.dataspace.copernicus.eu"
    assert "CDSE" in s.token_url


def test_a_named_profile_wins_over_sh_profile(xdg: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(xdg), "SH_PROFILE": "legacy"}
    assert sentinelhub_settings(profile="cdse", env=env).client_id == "shpy-cdse-id"
    assert sentinelhub_settings(env={**env, "EOCLIENT_PROFILE": "cdse"}).client_id == "shpy-cdse-id"
    # eoclient's "default" is sentinelhub-py's "default-profile"
    assert sentinelhub_settings(profile="default", env=env).client_id == "shpy-id"


def test_env_and_arguments_win_over_the_sentinelhub_py_file(xdg: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(xdg), "SH_PROFILE": "cdse", "SH_CLIENT_ID": "env-id"}
    s = sentinelhub_settings(env=env)
    assert s.client_id == "env-id"
    assert s.client_secret.reveal() == "shpy-cdse-secret"
    s = sentinelhub_settings(client_id="arg-id", base_url="https://arg.example.com", env=env)
    assert s.client_id == "arg-id"
    assert s.base_url == "https://arg.example.com"
    assert s.token_url.startswith("https://identity.dataspace.copernicus.eu/")


def test_deprecated_auth_base_url_becomes_the_token_url(xdg: Path) -> None:
    s = sentinelhub_settings(profile="legacy", env={"XDG_CONFIG_HOME": str(xdg)})
    assert s.token_url == "https://auth.example.com/oauth/token"


def test_empty_strings_are_unset_and_the_error_names_both_files(xdg: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        sentinelhub_settings(profile="blank", env={"XDG_CONFIG_HOME": str(xdg)})
    text = str(info.value)
    assert "client_id" in text and "SH_CLIENT_ID" in text
    assert str(xdg / "sentinelhub" / "config.toml") in text
    assert str(xdg / "eoclient" / "config.toml") in text


def test_profile_in_neither_file_is_an_error(xdg: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"profile 'nope'.*sentinelhub-py"):
        sentinelhub_settings(profile="nope", env={"XDG_CONFIG_HOME": str(xdg)})


def test_unknown_sh_profile_is_not_an_error_when_arguments_suffice(xdg: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(xdg), "SH_PROFILE": "nope"}
    s = sentinelhub_settings(client_id="a", client_secret="b-123456", env=env)
    assert s.client_id == "a"


def test_bad_sentinelhub_py_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sentinelhub").mkdir()
    (tmp_path / "sentinelhub" / "config.toml").write_text("[default-profile\n")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        sentinelhub_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})


def test_non_string_value_in_sentinelhub_py_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sentinelhub").mkdir()
    (tmp_path / "sentinelhub" / "config.toml").write_text("[default-profile]\nsh_client_id = 5\n")
    with pytest.raises(ConfigurationError, match="client_id must be a string"):
        sentinelhub_settings(env={"XDG_CONFIG_HOME": str(tmp_path)})


def test_spaceknow_ignores_the_sentinelhub_py_file(xdg: Path) -> None:
    with pytest.raises(ConfigurationError, match="username"):
        spaceknow_settings(env={"XDG_CONFIG_HOME": str(xdg)})


def test_client_reads_the_sentinelhub_py_file(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SH_CLIENT_ID", "SH_CLIENT_SECRET", "SH_BASE_URL", "SH_TOKEN_URL", "EOCLIENT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("EOCLIENT_PROFILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("SH_PROFILE", "cdse")
    sh = SentinelHub()
    assert sh.settings.client_id == "shpy-cdse-id"
    assert sh.transport.base_url == "https://sh.dataspace.copernicus.eu"

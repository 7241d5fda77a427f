"""StorageSettings: explicit arguments, then AWS_* variables, then an AWS profile; secrets redacted."""

from __future__ import annotations

import builtins
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from eoclient._log import log_event
from eoclient._redact import Secret
from eoclient.errors import ConfigurationError, ObjectNotFoundError, StorageError, ValidationError
from eoclient.storage import StorageSettings, object_url, open_store, parse_url


@pytest.fixture
def home(tmp_path: Path) -> Path:
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULTPROFILE01\n"
        "aws_secret_access_key = default-profile-secret-1\n"
        "[cdse]\naws_access_key_id = AKIACDSEPROFILE00001\n"
        "aws_secret_access_key = cdse-profile-secret-22\n"
    )
    (aws / "config").write_text(
        "[default]\nregion = eu-west-1\n"
        "[profile cdse]\nregion = default\nendpoint_url = https://eodata.dataspace.copernicus.eu\n"
    )
    return tmp_path


def test_explicit_arguments_win(home: Path) -> None:
    env = {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT00001",
        "AWS_SECRET_ACCESS_KEY": "env-secret-1",
    }
    s = StorageSettings(
        endpoint="http://127.0.0.1:9000",
        access_key="AKIAEXPLICIT00000001",
        secret_key="explicit-secret-1",
        region="us-west-2",
        environ=env,
    )
    assert (s.endpoint, s.access_key, s.region) == (
        "http://127.0.0.1:9000",
        "AKIAEXPLICIT00000001",
        "us-west-2",
    )
    assert isinstance(s.secret_key, Secret) and s.secret_key.reveal() == "explicit-secret-1"


def test_environment_then_profile(home: Path) -> None:
    env = {
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT00001",
        "AWS_SECRET_ACCESS_KEY": "env-secret-1234",
        "AWS_SESSION_TOKEN": "env-session-token-1234",
        "AWS_DEFAULT_REGION": "ap-south-1",
        "AWS_ENDPOINT_URL": "http://generic:1",
        "AWS_ENDPOINT_URL_S3": "http://s3-only:2",
    }
    s = StorageSettings(environ=env)
    assert s.access_key == "AKIAENVIRONMENT00001" and s.secret_key == Secret("env-secret-1234")
    assert s.session_token == Secret("env-session-token-1234")
    assert (s.region, s.endpoint) == ("ap-south-1", "http://s3-only:2")
    assert StorageSettings(environ={**env, "AWS_REGION": "eu-north-1"}).region == "eu-north-1"

    s = StorageSettings(environ={"HOME": str(home)})  # nothing in the environment: the default profile
    assert (s.access_key, s.region, s.profile) == ("AKIADEFAULTPROFILE01", "eu-west-1", "default")
    assert not s.anonymous


def test_named_profile_and_files_from_the_environment(home: Path, tmp_path: Path) -> None:
    env = {
        "HOME": str(home),
        "AWS_PROFILE": "cdse",
        "AWS_ACCESS_KEY_ID": "AKIAENV",
        "AWS_SECRET_ACCESS_KEY": "x" * 8,
    }
    s = StorageSettings(environ=env)
    assert s.access_key == "AKIAENV"  # AWS_PROFILE from the environment: the env keys still win
    s = StorageSettings(profile="cdse", environ=env)  # named explicitly: the profile wins over the env keys
    assert (s.access_key, s.endpoint, s.region) == (
        "AKIACDSEPROFILE00001",
        "https://eodata.dataspace.copernicus.eu",
        "default",
    )
    moved = tmp_path / "elsewhere"
    moved.write_text(
        "[default]\naws_access_key_id = AKIAMOVEDFILE0000001\naws_secret_access_key = moved-secret-1\n"
    )
    s = StorageSettings(environ={"HOME": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(moved)})
    assert s.access_key == "AKIAMOVEDFILE0000001"
    with pytest.raises(ConfigurationError, match="'nope'"):
        StorageSettings(profile="nope", environ={"HOME": str(home)})
    assert StorageSettings(environ={"HOME": str(tmp_path / "none")}).anonymous


def test_refuses_half_credentials_and_bad_endpoints() -> None:
    with pytest.raises(ConfigurationError, match="together"):
        StorageSettings(access_key="AKIAONLYKEY", environ={})
    with pytest.raises(ConfigurationError, match="http"):
        StorageSettings(endpoint="ftp://x", environ={})


def test_secrets_never_shown(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = StorageSettings(
        access_key="AKIAEXPLICIT00000001",
        secret_key="shown-never-secret-9",
        session_token="tok-never-shown-9",
        environ={},
    )
    assert "shown-never-secret-9" not in repr(s) and "tok-never-shown-9" not in repr(s)
    error = StorageError("get failed", bucket="b", key="k", store_message="echo shown-never-secret-9")
    assert "shown-never-secret-9" not in str(error)
    with caplog.at_level(logging.DEBUG):
        log_event(logging.WARNING, "storage.test", detail="shown-never-secret-9 tok-never-shown-9")
    assert "shown-never-secret-9" not in caplog.text and "tok-never-shown-9" not in caplog.text


def test_urls() -> None:
    assert parse_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert parse_url("s3://bucket") == ("bucket", "")
    assert object_url("bucket", "a/b.tif") == "s3://bucket/a/b.tif"
    for bad in ["bucket/a", "s3:///a", "https://x/y"]:
        with pytest.raises(ValidationError):
            parse_url(bad)


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_obstore(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "obstore" or name.startswith("obstore."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_obstore)
    with pytest.raises(ConfigurationError, match=r"pip install 'eoclient\[s3\]'"):
        open_store("s3://bucket", StorageSettings(environ={}))


def test_importing_eoclient_does_not_import_obstore() -> None:
    import subprocess

    code = "import sys, eoclient, eoclient.storage; print('obstore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_typed_errors_are_eoclient_errors() -> None:
    assert issubclass(ObjectNotFoundError, StorageError)

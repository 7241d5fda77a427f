"""Secrets never reach logs, reprs or exception text."""

from __future__ import annotations

import logging

import pytest
from aioresponses import CallbackResult, aioresponses

from eoclient._log import log_event
from eoclient._redact import Secret, redact_headers, redact_mapping, scrub
from eoclient.errors import APIError, AuthenticationError, JobFailedError
from eoclient.sentinelhub import SentinelHub
from eoclient.spaceknow import SpaceKnow

SECRET = "client-secret-0123456789abcdef"
PASSWORD = "hunter2-correct-horse"


def test_secret_repr_and_str_hide_value() -> None:
    s = Secret(SECRET)
    assert SECRET not in repr(s)
    assert SECRET not in str(s)
    assert f"{s}" == "Secret('***')"
    assert s.reveal() == SECRET


def test_scrub_registered_values_and_bearer_tokens() -> None:
    Secret(SECRET)
    text = f"failed with {SECRET} and Authorization: Bearer eyJabc.def-ghi"
    out = scrub(text)
    assert SECRET not in out
    assert "eyJabc" not in out
    assert "Bearer ***" in out


def test_redact_mapping_masks_keys_recursively() -> None:
    data = {
        "headers": {"Authorization": "Bearer abc", "Accept": "x"},
        "client_secret": "plain",
        "nested": [{"password": "p"}, "ok"],
    }
    out = redact_mapping(data)
    assert out["headers"]["Authorization"] == "***"
    assert out["headers"]["Accept"] == "x"
    assert out["client_secret"] == "***"
    assert out["nested"][0]["password"] == "***"
    assert redact_headers({"authorization": "Bearer z", "Cookie": "a=b"}) == {
        "authorization": "***",
        "Cookie": "***",
    }


def test_api_error_text_is_scrubbed() -> None:
    Secret(SECRET)
    err = APIError(status=400, code="X", service_message=f"bad value {SECRET}", operation="op")
    assert SECRET not in str(err)
    assert SECRET not in repr(err)
    assert SECRET not in (err.service_message or "")
    failed = JobFailedError(job_id="j", status="FAILED", error=f"echo {SECRET}")
    assert SECRET not in str(failed)


def test_client_reprs_hide_secrets() -> None:
    sh = SentinelHub("cid", SECRET, base_url="https://sh.test", token_url="https://auth.test/t")
    sk = SpaceKnow("me@example.com", PASSWORD, base_url="https://sk.test", auth_url="https://auth.test/ro")
    for obj in (sh, sk, sh.settings, sk.settings, sh.transport, sh.transport.auth):
        assert SECRET not in repr(obj)
        assert PASSWORD not in repr(obj)


async def test_log_events_never_carry_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="eoclient")
    sh = SentinelHub("cid", SECRET, base_url="https://sh.test", token_url="https://auth.test/t")
    token = "issued-token-value-xyz"

    def token_cb(url, **kwargs):
        return CallbackResult(status=200, payload={"access_token": token, "expires_in": 60})

    with aioresponses() as m:
        m.post("https://auth.test/t", callback=token_cb)
        # Three 401s: the first two are replayed with a fresh token each, the third is the answer.
        for _ in range(3):
            m.get("https://sh.test/x", status=401, payload={"error": {"message": f"bad {token}"}})
        m.post("https://auth.test/t", callback=token_cb)
        m.post("https://auth.test/t", callback=token_cb)
        with pytest.raises(AuthenticationError) as info:
            await sh.request("GET", "/x")
    await sh.aclose()
    assert caplog.records, "expected log events"
    for text in [caplog.text, str(info.value), repr(info.value)]:
        assert SECRET not in text
        assert token not in text
    log_event(logging.INFO, "custom", authorization=f"Bearer {token}", note=f"{SECRET}")
    assert token not in caplog.text
    assert SECRET not in caplog.text


async def test_structlog_path_is_redacted_too() -> None:
    import structlog

    Secret(SECRET)
    with structlog.testing.capture_logs() as logs:
        log_event(logging.INFO, "custom", headers={"Authorization": "Bearer abc.def"}, note=SECRET)
    assert logs == [
        {"event": "custom", "headers": {"Authorization": "***"}, "note": "***", "log_level": "info"}
    ]

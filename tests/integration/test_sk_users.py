"""SpaceKnow users against the emulator: info, Guardian accounts, permissions, the password kept secret."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from eoclient._redact import Secret
from eoclient.emulator import Emulator
from eoclient.emulator.spaceknow.accounts import accounts, subject_of
from eoclient.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ValidationError,
)
from eoclient.spaceknow import SpaceKnow
from eoclient.spaceknow.users import UserInfo, _withhold
from tests.integration.conftest import sk_client

pytestmark = pytest.mark.eo_emulator(clock_speed=500.0)

PASSWORD = "Tr0ub4dor&3-horse-battery"


def user_requests(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests if r.path.startswith("/user/")]


async def test_info_of_the_logged_in_user(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    me = await sk.users.info()
    assert isinstance(me, UserInfo)
    assert me.email == eo_emulator.credentials.sk_username
    assert me.id == subject_of(eo_emulator.credentials.sk_username)
    assert me.accounting == "development" and me.name
    assert me.has_permission("imagery.availability") and me.has_permission("admin.users.create-guardian-user")
    assert not me.has_permission("no.such.permission")
    [sent] = [r for r in eo_emulator.requests if r.path == "/user/info"]
    assert json.loads(sent.body or b"") == {}

    accounts(eo_emulator.state).revoke("imagery.scene-info")
    assert not (await sk.users.info()).has_permission("imagery.scene-info")


async def test_guardian_user_lifecycle(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    store = accounts(eo_emulator.state)
    await sk.users.create_guardian_user("ann.smith@example.com", PASSWORD, "Ann Smith")
    created = store.by_email("ann.smith@example.com")
    assert created is not None and created.guardian and created.name == "Ann Smith"
    assert created.password_hash and PASSWORD not in created.password_hash and PASSWORD not in repr(created)
    [sent] = [r for r in eo_emulator.requests if r.path == "/user/guardian-user/create"]
    assert json.loads(sent.body or b"") == {
        "email": "ann.smith@example.com",
        "password": PASSWORD,
        "name": "Ann Smith",
    }

    info = await sk.users.info(created.id)  # another user's info: admin.users.manage
    assert info.email == "ann.smith@example.com" and info.name == "Ann Smith"
    assert info.has_permission("imagery.availability") and not info.has_permission("admin.users.manage")

    with pytest.raises(ConflictError) as exists:
        await sk.users.create_guardian_user("ANN.SMITH@example.com", Secret(PASSWORD), "Ann again")
    assert exists.value.code == "USER-ALREADY-EXISTS"

    await sk.users.delete_guardian_user("ann.smith@example.com")
    assert store.by_email("ann.smith@example.com") is None
    with pytest.raises(NotFoundError) as gone:
        await sk.users.delete_guardian_user("ann.smith@example.com")
    assert gone.value.code == "USER-NOT-FOUND"
    with pytest.raises(NotFoundError) as unknown:
        await sk.users.info(created.id)
    assert unknown.value.code == "USER-NOT-FOUND"


async def test_guardian_users_use_the_documented_paths(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    # docs.spaceknow.com, User API: POST /user/guardian-user/create and /user/guardian-user/delete.
    await sk.users.create_guardian_user("hal@example.com", PASSWORD, "Hal")
    await sk.users.delete_guardian_user("hal@example.com")
    assert user_requests(eo_emulator) == ["/user/guardian-user/create", "/user/guardian-user/delete"]
    assert [r.status for r in eo_emulator.requests if r.path.startswith("/user/")] == [200, 200]
    # The paths the client once called do not exist: the emulator answers 404 as SpaceKnow does.
    for made_up in ("/user/create-guardian-user", "/user/delete-guardian-user"):
        with pytest.raises(NotFoundError) as info:
            await sk.transport.request("POST", made_up, operation="test", json={"email": "hal@example.com"})
        assert info.value.code == "NOT-FOUND"


async def test_guardian_bodies_are_checked_like_the_reference(sk: SpaceKnow, eo_emulator: Emulator) -> None:
    """A field the reference does not list, or a required one missing, is a 400 before anything happens."""
    create = {"email": "ivy@example.com", "password": PASSWORD, "name": "Ivy"}
    for body, field in (
        ({**create, "role": "admin"}, "role"),
        ({k: v for k, v in create.items() if k != "name"}, "name"),
        ({**create, "email": None}, "email"),
    ):
        with pytest.raises(BadRequestError) as info:
            await sk.transport.request("POST", "/user/guardian-user/create", operation="test", json=body)
        assert info.value.code == "BAD-REQUEST"
        assert (info.value.service_message or "").startswith(f"{field}: ")
    assert accounts(eo_emulator.state).by_email("ivy@example.com") is None
    with pytest.raises(BadRequestError, match="groupId: unknown field"):
        await sk.transport.request(
            "POST",
            "/user/guardian-user/delete",
            operation="test",
            json={"email": "x@example.com", "groupId": "g"},
        )


async def test_deleting_a_non_guardian_or_unknown_user_is_not_found(
    sk: SpaceKnow, eo_emulator: Emulator
) -> None:
    with pytest.raises(NotFoundError):
        await sk.users.delete_guardian_user("nobody@example.com")
    with pytest.raises(NotFoundError):  # the manager is not a Guardian account
        await sk.users.delete_guardian_user(eo_emulator.credentials.sk_username)
    assert accounts(eo_emulator.state).by_email(eo_emulator.credentials.sk_username) is not None


@pytest.mark.parametrize(
    ("permission", "call"),
    [
        ("admin.users.create-guardian-user", "create"),
        ("admin.users.delete-guardian-user", "delete"),
        ("admin.users.manage", "info-other"),
    ],
)
async def test_missing_permission_is_403(
    sk: SpaceKnow, eo_emulator: Emulator, permission: str, call: str
) -> None:
    await sk.users.create_guardian_user("bob@example.com", PASSWORD, "Bob")
    bob = accounts(eo_emulator.state).by_email("bob@example.com")
    assert bob is not None
    accounts(eo_emulator.state).revoke(permission)
    with pytest.raises(PermissionDeniedError) as info:
        if call == "create":
            await sk.users.create_guardian_user("carol@example.com", PASSWORD, "Carol")
        elif call == "delete":
            await sk.users.delete_guardian_user("bob@example.com")
        else:
            await sk.users.info(bob.id)
    assert info.value.status == 403 and info.value.code == "NOT-AUTHORIZED"
    assert permission in (info.value.service_message or "")
    assert accounts(eo_emulator.state).by_email("carol@example.com") is None
    assert accounts(eo_emulator.state).by_email("bob@example.com") is not None
    await sk.users.info()  # one's own info needs no permission


BAD_CREATES: list[tuple[dict[str, Any], str]] = [
    ({"email": "no-at-sign.example.com"}, "email"),
    ({"email": "two@@example.com"}, "email"),
    ({"email": "space in@example.com"}, "email"),
    ({"email": "nodot@example"}, "email"),
    ({"email": ""}, "email"),
    ({"email": None}, "email"),
    ({"password": ""}, "password"),
    ({"password": Secret("")}, "password"),
    ({"password": None}, "password"),
    ({"password": b"bytes-password"}, "password"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": None}, "name"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_CREATES)
async def test_bad_input_is_refused_before_sending(
    sk: SpaceKnow, eo_emulator: Emulator, kwargs: dict[str, Any], field: str
) -> None:
    args: dict[str, Any] = {"email": "dan@example.com", "password": PASSWORD, "name": "Dan", **kwargs}
    with pytest.raises(ValidationError) as info:
        await sk.users.create_guardian_user(**args)
    assert info.value.field == field
    assert PASSWORD not in str(info.value)
    with pytest.raises(ValidationError):
        await sk.users.delete_guardian_user(args["email"] if field == "email" else "not-an-email")
    with pytest.raises(ValidationError):
        await sk.users.info("")
    assert user_requests(eo_emulator) == []


async def test_password_never_in_logs_reprs_or_errors(
    eo_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="eoclient")
    password = "correct-horse-battery-staple"
    async with sk_client(eo_emulator) as sk:
        await sk.users.create_guardian_user("erin@example.com", password, "Erin")
        with pytest.raises(ConflictError) as conflict:
            await sk.users.create_guardian_user("erin@example.com", password, "Erin")
        # A 5xx on a create leaves its outcome unknown (it is not re-sent): still nothing leaks.
        eo_emulator.faults.inject("server_error", path_prefix="/user/guardian-user/create", status=500)
        with pytest.raises(OutcomeUnknownError) as server:
            await sk.users.create_guardian_user("frank@example.com", password, "Frank")
        with pytest.raises(ValidationError) as invalid:
            await sk.users.create_guardian_user("not-an-email", password, "Erin")
        texts = [repr(sk), repr(sk.users), repr(sk.transport)]
    assert caplog.records, "expected log events"
    for error in (conflict.value, server.value, invalid.value):
        texts += [str(error), repr(error), repr(error.__dict__), str(error.__context__), str(error.__cause__)]
    for text in [caplog.text, *texts]:
        assert password not in text


def test_a_short_echoed_password_withholds_the_service_message() -> None:
    short = "pw1"  # too short for the process-wide secret registry
    echoed = BadRequestError(
        status=400,
        code="WEAK-PASSWORD",
        service_message=f"password {short!r} is too weak",
        operation="user.create-guardian-user",
        details=[{"password": short}],
    )
    safe = _withhold(echoed, short)
    assert isinstance(safe, BadRequestError)
    assert safe.code == "WEAK-PASSWORD" and safe.status == 400
    assert short not in str(safe) and short not in repr(safe) and safe.details is None
    clean = BadRequestError(status=400, code="X", service_message="name is too long")
    assert _withhold(clean, short) is None

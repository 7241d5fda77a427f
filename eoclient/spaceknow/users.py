"""SpaceKnow users: who am I (claims and permissions), and Guardian accounts.

Example::

    async with SpaceKnow() as sk:
        me = await sk.users.info()
        if me.has_permission("admin.users.create-guardian-user"):
            await sk.users.create_guardian_user("ann@example.com", Secret(pw), "Ann Smith")

A Guardian user's password is a secret: it is wrapped in
:class:`~eoclient._redact.Secret` at once, sent only in the request body, and
never appears in a log event, a ``repr`` or an error message (a service error
that echoes it has its message withheld).

Creating a Guardian user is not sent twice: if the answer is lost
(connection dropped after sending, read timeout, 500/502/503/504) the account
may exist, and SpaceKnow offers no lookup by e-mail, so
:class:`~eoclient.errors.OutcomeUnknownError` names the e-mail to check by.
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from eoclient._checks import check_text
from eoclient._context import ServiceContext
from eoclient._models import Model
from eoclient._outcome import outcome_unknown
from eoclient._redact import Secret
from eoclient.errors import APIError, EOClientError, OutcomeUnknownError, ValidationError

__all__ = ["EMAIL_PATTERN", "UserInfo", "Users", "check_email"]

INFO_PATH: Final = "/user/info"
# The reference shows the Guardian operations without their paths; these are docs.spaceknow.com's (User API).
CREATE_GUARDIAN_PATH: Final = "/user/guardian-user/create"
DELETE_GUARDIAN_PATH: Final = "/user/guardian-user/delete"

EMAIL_PATTERN: Final = re.compile(r"[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+")
"""The reference's e-mail pattern, matched against the whole address."""

_WITHHELD: Final = "(the service's message is withheld: it contained the password)"


class UserInfo(Model):
    """The claims of a user: id, e-mail, name, accounting group and permissions."""

    id: str
    email: str | None = None
    name: str | None = None
    accounting: str | None = None
    permissions: list[str] = msgspec.field(default_factory=list)

    def has_permission(self, permission: str) -> bool:
        """Whether the user holds ``permission`` (e.g. ``"imagery.scene-info"``)."""
        return permission in self.permissions


def check_email(email: Any, *, field: str = "email") -> str:
    """``email`` if it matches the reference's pattern, else :class:`ValidationError`."""
    if not isinstance(email, str) or not EMAIL_PATTERN.fullmatch(email):
        shown = email if isinstance(email, str) else type(email).__name__
        raise ValidationError(field, f"not an e-mail address: {shown!r}")
    return email


def _password(password: Any) -> Secret:
    # Never put the value in a message: only its type.
    if isinstance(password, Secret):
        secret = password
    elif isinstance(password, str):
        secret = Secret(password)
    else:
        raise ValidationError("password", f"must be a str or Secret, not {type(password).__name__}")
    if not secret.reveal():
        raise ValidationError("password", "must not be empty")
    return secret


def _withhold(exc: APIError, password: str) -> APIError | None:
    """A copy of ``exc`` without the service's text when that text contains ``password``.

    Passwords of 6 characters or more are scrubbed everywhere by the secret
    registry; shorter ones cannot be (they would scrub ordinary words), so the
    text that holds them is dropped instead.
    """
    leaked = password in (exc.service_message or "") or (
        exc.details is not None and password in str(exc.details)
    )
    if not leaked:
        return None
    return exc.replace(service_message=_WITHHELD, details=None)


class Users:
    """SpaceKnow users, reached as ``sk.users``."""

    def __init__(self, ctx: ServiceContext[Any]) -> None:
        self._ctx = ctx

    async def info(self, user_id: str | None = None) -> UserInfo:
        """The claims and permissions of the logged-in user, or of ``user_id`` (needs admin.users.manage)."""
        body: dict[str, Any] = {}
        if user_id is not None:
            body["userId"] = check_text("user_id", user_id)
        result: UserInfo = await self._ctx.transport.request_json(
            "POST", INFO_PATH, operation="user.info", json=body, idempotent=True, type=UserInfo
        )
        return result

    async def create_guardian_user(self, email: str, password: str | Secret, name: str) -> None:
        """Create a Guardian account (needs admin.users.create-guardian-user).

        ``password`` is the user's initial password; pass a :class:`Secret` to
        keep it out of your own reprs too. A lost answer raises
        :class:`~eoclient.errors.OutcomeUnknownError` (the account may exist):
        calling again then answers USER-ALREADY-EXISTS
        (:class:`~eoclient.errors.ConflictError`) if it was created.
        """
        address = check_email(email)
        secret = _password(password)  # only the Secret stays in this frame's locals
        full_name = check_text("name", name)
        operation = "user.create-guardian-user"
        failure: EOClientError | None = None
        try:
            await self._ctx.transport.request(
                "POST",
                CREATE_GUARDIAN_PATH,
                operation=operation,
                json={"email": address, "password": secret.reveal(), "name": full_name},
            )
        except EOClientError as exc:
            withheld = _withhold(exc, secret.reveal()) if isinstance(exc, APIError) else None
            if withheld is None and not outcome_unknown(exc):
                raise
            failure = withheld or exc
        if failure is None:
            return
        if outcome_unknown(failure):
            # Raised outside the except block so that an error echoing the password is not chained.
            raise OutcomeUnknownError(
                f"the answer was lost ({failure}); the Guardian user may have been created",
                operation=operation,
                resource="Guardian user",
                how_to_find=(
                    f"SpaceKnow offers no lookup by e-mail: create_guardian_user({address!r}, ...) "
                    "again answers USER-ALREADY-EXISTS if it was created"
                ),
            ) from failure
        raise failure

    async def delete_guardian_user(self, email: str) -> None:
        """Delete a Guardian account of your group (needs admin.users.delete-guardian-user)."""
        body = {"email": check_email(email)}
        await self._ctx.transport.request(
            "POST", DELETE_GUARDIAN_PATH, operation="user.delete-guardian-user", json=body
        )

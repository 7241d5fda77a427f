"""Emulated SpaceKnow users: ``/user/info``, Guardian accounts, and the permission check of every family.

Routes (SpaceKnow app, bearer required)::

    POST /user/info                  {"userId"?}  -> {"accounting", "email", "id", "name", "permissions"}
                                     (another user's info needs admin.users.manage)
    POST /user/create-guardian-user  {"email", "password", "name"} -> {}
                                     (admin.users.create-guardian-user; 409 USER-ALREADY-EXISTS)
    POST /user/delete-guardian-user  {"email"} -> {}
                                     (admin.users.delete-guardian-user; 404 USER-NOT-FOUND)

The caller is the user of the bearer token (its ``sub``). The emulator's login
user has every permission the reference names (including
``imagery.images.<provider>.<dataset>`` for every dataset of the emulated
world); tests take one away through the store::

    users(emu.state).revoke("admin.users.create-guardian-user")

Other families gate their operations with :func:`require` (``None`` when
allowed, else the 403 ``NOT-AUTHORIZED`` answer to return). Passwords are kept
only as salted hashes, never in plain text.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from eoclient.emulator import sk_scenes
from eoclient.emulator.auth import TOKEN_KEY
from eoclient.emulator.errors import sk_error
from eoclient.emulator.state import EmulatorState, get_state
from eoclient.emulator.tokens import Credentials

__all__ = [
    "BASE_PERMISSIONS",
    "EMAIL_PATTERN",
    "GUARDIAN_PERMISSIONS",
    "User",
    "UserStore",
    "current_user",
    "default_permissions",
    "json_body",
    "require",
    "setup",
    "subject_of",
    "users",
]

EMAIL_PATTERN: Final = re.compile(r"[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+")
"""The reference's e-mail pattern (matched against the whole address)."""

BASE_PERMISSIONS: Final = frozenset(
    {
        "admin.credits.list-group-allocations",
        "admin.credits.list-group-transactions",
        "admin.credits.set-user-credit-limit",
        "admin.users.create-guardian-user",
        "admin.users.delete-guardian-user",
        "admin.users.manage",
        "credits.check-area",
        "credits.list-group-allocations",
        "credits.list-group-transactions",
        "credits.user-info",
        "datacube.get",
        "datacube.get-aoi-positions",
        "datacube.get-aoi-tags",
        "imagery.availability",
        "imagery.images",
        "imagery.scene-info",
        "ingest-scene",
        "kraken.download-unclipped",
        "kraken.dry-run",
        "kraken.release",
        "phoenix.ingested",
    }
)
"""What the emulator's login user may do, besides ``imagery.images.<provider>.<dataset>``."""

GUARDIAN_PERMISSIONS: Final = frozenset({"imagery.availability", "imagery.scene-info", "kraken.release"})
"""What a Guardian account created through the API may do."""

_GROUP: Final = "emulator-group"


def default_permissions() -> set[str]:
    """The login user's permissions: :data:`BASE_PERMISSIONS` plus every dataset's images permission."""
    datasets = {f"imagery.images.{p['provider']}.{p['dataset']}" for p in sk_scenes.all_providers()}
    return set(BASE_PERMISSIONS) | datasets


def subject_of(username: str) -> str:
    """The token subject (user id) the emulator's login endpoint gives ``username``."""
    return "auth0|" + hashlib.sha256(username.encode()).hexdigest()[:24]


@dataclass
class User:
    """One user of the emulated SpaceKnow."""

    id: str
    email: str
    name: str
    permissions: set[str]
    accounting: str = "development"
    group: str = _GROUP
    guardian: bool = False
    password_hash: str | None = field(default=None, repr=False)

    def info(self) -> dict[str, Any]:
        """The ``/user/info`` answer."""
        return {
            "accounting": self.accounting,
            "email": self.email,
            "id": self.id,
            "name": self.name,
            "permissions": sorted(self.permissions),
        }


class UserStore:
    """Every user of one emulator, by id; the login user is created on first use."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self.by_id: dict[str, User] = {}
        self.login_user = self.user(subject_of(credentials.sk_username))

    def user(self, subject: str) -> User:
        """The user with id ``subject`` (created with the login user's permissions if unknown)."""
        found = self.by_id.get(subject)
        if found is None:
            email = (
                self._credentials.sk_username if subject == subject_of(self._credentials.sk_username) else ""
            )
            found = User(id=subject, email=email, name="Emulator User", permissions=default_permissions())
            self.by_id[subject] = found
        return found

    def by_email(self, email: str) -> User | None:
        """The user with this e-mail (case-insensitive), if any."""
        wanted = email.casefold()
        return next((u for u in self.by_id.values() if u.email.casefold() == wanted), None)

    def grant(self, *permissions: str, user_id: str | None = None) -> None:
        """Give permissions to a user (default: the login user)."""
        target = self.login_user if user_id is None else self.user(user_id)
        target.permissions.update(permissions)

    def revoke(self, *permissions: str, user_id: str | None = None) -> None:
        """Take permissions away from a user (default: the login user)."""
        target = self.login_user if user_id is None else self.user(user_id)
        target.permissions.difference_update(permissions)


def users(state: EmulatorState) -> UserStore:
    """The :class:`UserStore` of this emulator."""
    return state.store("sk_users", lambda: UserStore(state.credentials))


def current_user(request: web.Request) -> User:
    """The user whose bearer token made ``request``."""
    return users(get_state(request)).user(request[TOKEN_KEY].subject)


def require(request: web.Request, *permissions: str) -> web.Response | None:
    """``None`` when the caller holds every permission, else the 403 ``NOT-AUTHORIZED`` answer."""
    missing = [p for p in permissions if p not in current_user(request).permissions]
    if missing:
        return sk_error(403, "NOT-AUTHORIZED", f"missing permission(s): {', '.join(missing)}")
    return None


async def json_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The JSON object body of a request, or the 400 answer saying why there is none."""
    if not request.body_exists:
        return sk_error(400, "BAD-REQUEST", "a JSON body is required")
    try:
        body = await request.json()
    except ValueError:
        return sk_error(400, "BAD-REQUEST", "the request body must be JSON")
    if not isinstance(body, dict):
        return sk_error(400, "BAD-REQUEST", "the request body must be a JSON object")
    return body


def _email(body: dict[str, Any]) -> str | web.Response:
    email = body.get("email")
    if not isinstance(email, str) or not EMAIL_PATTERN.fullmatch(email):
        return sk_error(400, "BAD-REQUEST", "email: not a valid e-mail address")
    return email


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


async def _info(request: web.Request) -> web.Response:
    body = await json_body(request) if request.body_exists else {}
    if isinstance(body, web.Response):
        return body
    user_id = body.get("userId")
    if user_id is None:
        return web.json_response(current_user(request).info())
    if not isinstance(user_id, str) or not user_id:
        return sk_error(400, "BAD-REQUEST", "userId must be a non-empty string")
    refused = require(request, "admin.users.manage")
    if refused is not None:
        return refused
    found = users(get_state(request)).by_id.get(user_id)
    if found is None:
        return sk_error(404, "USER-NOT-FOUND", f"user {user_id} not found")
    return web.json_response(found.info())


async def _create_guardian(request: web.Request) -> web.Response:
    refused = require(request, "admin.users.create-guardian-user")
    if refused is not None:
        return refused
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    email = _email(body)
    if isinstance(email, web.Response):
        return email
    password, name = body.get("password"), body.get("name")
    if not isinstance(password, str) or not password:
        return sk_error(400, "BAD-REQUEST", "password: must be a non-empty string")
    if not isinstance(name, str) or not name.strip():
        return sk_error(400, "BAD-REQUEST", "name: must be a non-empty string")
    store = users(get_state(request))
    if store.by_email(email) is not None:
        return sk_error(409, "USER-ALREADY-EXISTS", f"a user with e-mail {email} already exists")
    manager = current_user(request)
    user = User(
        id=subject_of(email),
        email=email,
        name=name,
        permissions=set(GUARDIAN_PERMISSIONS),
        accounting=manager.accounting,
        group=manager.group,
        guardian=True,
        password_hash=_hash_password(password),
    )
    store.by_id[user.id] = user
    return web.json_response({})


async def _delete_guardian(request: web.Request) -> web.Response:
    refused = require(request, "admin.users.delete-guardian-user")
    if refused is not None:
        return refused
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    email = _email(body)
    if isinstance(email, web.Response):
        return email
    store = users(get_state(request))
    found = store.by_email(email)
    # Managers delete Guardian accounts of their own group only; others look absent.
    if found is None or not found.guardian or found.group != current_user(request).group:
        return sk_error(404, "USER-NOT-FOUND", f"no Guardian user with e-mail {email} in your group")
    del store.by_id[found.id]
    return web.json_response({})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the users routes to the SpaceKnow app."""
    del state
    app.router.add_post("/user/info", _info)
    app.router.add_post("/user/create-guardian-user", _create_guardian)
    app.router.add_post("/user/delete-guardian-user", _delete_guardian)

"""The accounts of the emulated SpaceKnow: users, their groups and permissions, the permission check.

Every SpaceKnow family of the emulator asks this module who is calling and
what they may do; there is one store per emulator (:func:`accounts`)::

    require(request, "kraken.release")       # raises Refusal 403 NOT-AUTHORIZED if missing
    me = current_user(request)                # the User of the bearer token
    group = accounts(state).group_of(me)      # balance, credits tier, license

The world: the group ``group_emulator`` ("Emulator Org", tier ``basic``, 1000
credits) holds the emulator's login user (id :func:`subject_of` its user
name, as the login endpoint issues it) and a teammate (:data:`TEAMMATE`);
``group_other`` ("Other Org", tier ``premium``, 500 credits) holds one
outsider (:data:`OUTSIDER`). Guardian users created through
``/user/guardian-user/create`` join their manager's group. A token subject
never seen before (only tests make those) joins the main group with the
login user's permissions.

The login user may do everything a customer's Guardian manager may
(:data:`LOGIN_PERMISSIONS`, plus ``imagery.images.<provider>.<dataset>`` for
every dataset and ``algorithms.<map type>.<provider>.<dataset>`` for every
Kraken algorithm), but none of SpaceKnow's own ``admin.credits.*`` powers
beyond setting limits in its own group; the teammate and the outsider are
ordinary users (:data:`MEMBER_PERMISSIONS`), Guardian users hold
:data:`GUARDIAN_PERMISSIONS`. Tests change permissions on the store::

    accounts(emu.state).revoke("imagery.scene-info")           # the login user
    accounts(emu.state).grant("admin.credits.user-info", user_id=TEAMMATE)

Credit bookkeeping (transactions, allocations, the cost of an area) is
:mod:`eoclient.emulator.spaceknow.credits`; it changes the balances held here.
Passwords are kept only as salted hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.auth import TOKEN_KEY
from eoclient.emulator.core.refusal import Refusal
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.core.tokens import Credentials
from eoclient.emulator.spaceknow import scenes as sk_scenes
from eoclient.emulator.spaceknow.algorithms import algorithm_permissions

__all__ = [
    "EMAIL_PATTERN",
    "GUARDIAN_PERMISSIONS",
    "LOGIN_PERMISSIONS",
    "MAIN_GROUP",
    "MEMBER_PERMISSIONS",
    "OTHER_GROUP",
    "OUTSIDER",
    "TEAMMATE",
    "Accounts",
    "Group",
    "User",
    "accounts",
    "current_user",
    "login_permissions",
    "require",
    "subject_of",
]

EMAIL_PATTERN: Final = re.compile(r"[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+")
"""The reference's e-mail pattern (matched against the whole address)."""

MAIN_GROUP: Final = "group_emulator"
OTHER_GROUP: Final = "group_other"
TEAMMATE: Final = "auth0|teammate00000000000001"
OUTSIDER: Final = "auth0|outsider00000000000001"

MEMBER_PERMISSIONS: Final = frozenset(
    {
        "credits.check-area",
        "credits.list-group-allocations",
        "credits.list-group-transactions",
        "credits.user-info",
        # Every user manages the credit limits of their own group, nothing beyond it.
        "admin.credits.set-user-credit-limit",
        "datacube.get",
        "datacube.get-aoi-positions",
        "datacube.get-aoi-tags",
        "imagery.availability",
        "imagery.images",
        "imagery.scene-info",
        "kraken.dry-run",
        "kraken.release",
    }
)
"""What an ordinary user (the teammate, the outsider) may do, besides dataset permissions."""

LOGIN_PERMISSIONS: Final = MEMBER_PERMISSIONS | {
    "admin.users.create-guardian-user",
    "admin.users.delete-guardian-user",
    "admin.users.manage",
    "ingest-scene",
    "kraken.download-unclipped",
    "phoenix.ingested",
}
"""What the emulator's login user may do, besides :func:`login_permissions`' dataset permissions."""

GUARDIAN_PERMISSIONS: Final = frozenset({"imagery.availability", "imagery.scene-info", "kraken.release"})
"""What a Guardian account created through the API may do."""


def login_permissions() -> set[str]:
    """The login user's permissions: :data:`LOGIN_PERMISSIONS` and every dataset's and algorithm's."""
    datasets = {f"imagery.images.{p['provider']}.{p['dataset']}" for p in sk_scenes.all_providers()}
    return set(LOGIN_PERMISSIONS) | datasets | algorithm_permissions()


def subject_of(username: str) -> str:
    """The token subject (user id) the emulator's login endpoint gives ``username``."""
    return "auth0|" + hashlib.sha256(username.encode()).hexdigest()[:24]


@dataclass
class Group:
    """A customer's group: the credit balance its users share."""

    id: str
    name: str
    balance: float
    credits_tier: str = "basic"
    license_expired: bool = False


@dataclass
class User:
    """One user of the emulated SpaceKnow."""

    id: str
    email: str
    name: str
    permissions: set[str]
    group_id: str = MAIN_GROUP
    accounting: str = "development"
    credit_limit: float | None = None
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


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    return salt + "$" + hashlib.sha256((salt + password).encode()).hexdigest()


class Accounts:
    """Every user and group of one emulator."""

    def __init__(self, credentials: Credentials) -> None:
        self.groups: dict[str, Group] = {
            MAIN_GROUP: Group(MAIN_GROUP, "Emulator Org", 1000.0),
            OTHER_GROUP: Group(OTHER_GROUP, "Other Org", 500.0, credits_tier="premium"),
        }
        self.users: dict[str, User] = {}
        self.login_user = self._add(
            User(subject_of(credentials.sk_username), credentials.sk_username, "Emulator User", set())
        )
        self.login_user.permissions = login_permissions()
        self._add(User(TEAMMATE, "teammate@example.com", "Terry Teammate", set(MEMBER_PERMISSIONS)))
        self._add(
            User(OUTSIDER, "outsider@example.org", "Olga Outsider", set(MEMBER_PERMISSIONS), OTHER_GROUP)
        )

    def _add(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def find(self, user_id: str) -> User | None:
        """The user with this id, if any."""
        return self.users.get(user_id)

    def for_subject(self, subject: str) -> User:
        """The user of a token subject; one never seen before joins the main group like the login user."""
        found = self.users.get(subject)
        if found is None:
            found = self._add(User(subject, "", "Emulator User", set(self.login_user.permissions)))
        return found

    def by_email(self, email: str) -> User | None:
        """The user with this e-mail (case-insensitive), if any."""
        wanted = email.casefold()
        return next((u for u in self.users.values() if u.email and u.email.casefold() == wanted), None)

    def group_of(self, user: User) -> Group:
        """The group ``user`` belongs to."""
        return self.groups[user.group_id]

    def add_guardian(self, email: str, password: str, name: str, manager: User) -> User:
        """A new Guardian user in ``manager``'s group; a :class:`Refusal` 409 if the e-mail is taken."""
        if self.by_email(email) is not None:
            raise Refusal(409, "USER-ALREADY-EXISTS", f"a user with e-mail {email} already exists")
        return self._add(
            User(
                id=subject_of(email),
                email=email,
                name=name,
                permissions=set(GUARDIAN_PERMISSIONS),
                group_id=manager.group_id,
                accounting=manager.accounting,
                guardian=True,
                password_hash=_hash_password(password),
            )
        )

    def remove(self, user: User) -> None:
        """Delete ``user``."""
        del self.users[user.id]

    def grant(self, *permissions: str, user_id: str | None = None) -> None:
        """Give permissions to a user (default: the login user)."""
        self._target(user_id).permissions.update(permissions)

    def revoke(self, *permissions: str, user_id: str | None = None) -> None:
        """Take permissions away from a user (default: the login user)."""
        self._target(user_id).permissions.difference_update(permissions)

    def _target(self, user_id: str | None) -> User:
        return self.login_user if user_id is None else self.for_subject(user_id)


def accounts(state: EmulatorState) -> Accounts:
    """The :class:`Accounts` of this emulator."""
    return state.store("sk_accounts", lambda: Accounts(state.credentials))


def current_user(request: web.Request) -> User:
    """The user whose bearer token made ``request``."""
    return accounts(get_state(request)).for_subject(request[TOKEN_KEY].subject)


def require(request: web.Request, *permissions: str) -> None:
    """Raise :class:`Refusal` 403 ``NOT-AUTHORIZED`` unless the caller holds every permission."""
    held = current_user(request).permissions
    missing = [p for p in permissions if p not in held]
    if missing:
        raise Refusal(403, "NOT-AUTHORIZED", f"missing permission(s): {', '.join(missing)}")

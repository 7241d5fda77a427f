"""Emulated SpaceKnow users: ``/user/info`` and Guardian accounts.

Routes (SpaceKnow app, bearer required)::

    POST /user/info                  {"userId"?}  -> {"accounting", "email", "id", "name", "permissions"}
                                     (another user's info needs admin.users.manage)
    POST /user/guardian-user/create  {"email", "password", "name"} -> {}
                                     (admin.users.create-guardian-user; 409 USER-ALREADY-EXISTS)
    POST /user/guardian-user/delete  {"email"} -> {}
                                     (admin.users.delete-guardian-user; 404 USER-NOT-FOUND)

The Guardian paths are the ones docs.spaceknow.com's User API documents (the
reference shows the operations, not their paths). Body fields the reference
does not list, and missing required ones, are refused (400 BAD-REQUEST) by
the route declarations (:mod:`eoclient.emulator.core.routing`).

The users, their groups and permissions are the ones every family sees:
:mod:`eoclient.emulator.spaceknow.accounts` (a Guardian user created here has a
credits account in its manager's group at once).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.refusal import Refusal, json_body
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state
from eoclient.emulator.spaceknow.accounts import EMAIL_PATTERN, accounts, current_user, require

__all__ = ["CREATE_GUARDIAN_PATH", "DELETE_GUARDIAN_PATH", "INFO_PATH", "setup"]

INFO_PATH: Final = "/user/info"
CREATE_GUARDIAN_PATH: Final = "/user/guardian-user/create"
DELETE_GUARDIAN_PATH: Final = "/user/guardian-user/delete"


def _email(body: dict[str, Any]) -> str:
    email = body.get("email")
    if not isinstance(email, str) or not EMAIL_PATTERN.fullmatch(email):
        raise Refusal(400, "BAD-REQUEST", "email: not a valid e-mail address")
    return email


async def _info(request: web.Request) -> web.Response:
    body = await json_body(request, required=False)
    user_id = body.get("userId")
    if user_id is None:
        return web.json_response(current_user(request).info())
    if not isinstance(user_id, str) or not user_id:
        raise Refusal(400, "BAD-REQUEST", "userId must be a non-empty string")
    require(request, "admin.users.manage")
    found = accounts(get_state(request)).find(user_id)
    if found is None:
        raise Refusal(404, "USER-NOT-FOUND", f"user {user_id} not found")
    return web.json_response(found.info())


async def _create_guardian(request: web.Request) -> web.Response:
    require(request, "admin.users.create-guardian-user")
    body = await json_body(request)
    email = _email(body)
    password, name = body.get("password"), body.get("name")
    if not isinstance(password, str) or not password:
        raise Refusal(400, "BAD-REQUEST", "password: must be a non-empty string")
    if not isinstance(name, str) or not name.strip():
        raise Refusal(400, "BAD-REQUEST", "name: must be a non-empty string")
    accounts(get_state(request)).add_guardian(email, password, name, current_user(request))
    return web.json_response({})


async def _delete_guardian(request: web.Request) -> web.Response:
    require(request, "admin.users.delete-guardian-user")
    email = _email(await json_body(request))
    store = accounts(get_state(request))
    found = store.by_email(email)
    # Managers delete Guardian accounts of their own group only; others look absent.
    if found is None or not found.guardian or found.group_id != current_user(request).group_id:
        raise Refusal(404, "USER-NOT-FOUND", f"no Guardian user with e-mail {email} in your group")
    store.remove(found)
    return web.json_response({})


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the users routes to the SpaceKnow app."""
    del state
    add_route(app, "POST", INFO_PATH, _info, fields=("userId",))
    add_route(
        app,
        "POST",
        CREATE_GUARDIAN_PATH,
        _create_guardian,
        required_fields=("email", "password", "name"),
        fields=(),
    )
    add_route(app, "POST", DELETE_GUARDIAN_PATH, _delete_guardian, required_fields=("email",), fields=())

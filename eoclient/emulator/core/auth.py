"""Token endpoints of both services and the bearer-checking middleware.

* Sentinel Hub: Keycloak's OAuth2 client-credentials grant, form-encoded (the
  client may instead send its id and secret as HTTP Basic auth).
* SpaceKnow: Auth0's legacy resource-owner endpoint ``/oauth/ro`` (JSON); the
  ``id_token`` it returns is the bearer for every other SpaceKnow endpoint.

Every path of a service that is not in the app's public set (the token
endpoints, plus whatever a service module adds to ``app[PUBLIC_PATHS_KEY]``)
and not under ``/_emulator/`` needs ``Authorization: Bearer <token>`` with an
unexpired token issued by *that* service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any, Final
from urllib.parse import unquote_plus

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.errors import sh_error, sk_error
from eoclient.emulator.core.state import (
    PUBLIC_PATHS_KEY,
    SERVICE_KEY,
    EmulatorState,
    get_state,
)
from eoclient.emulator.core.tokens import S3, SENTINELHUB, SPACEKNOW, IssuedToken, Service

__all__ = [
    "CONTROL_PREFIX",
    "SH_TOKEN_PATH",
    "SH_TOKEN_PATHS",
    "SK_AUTH_PATH",
    "SK_AUTH_PATHS",
    "TOKEN_KEY",
    "auth_middleware",
    "bearer_token",
    "is_auth_path",
    "setup_sentinelhub_auth",
    "setup_spaceknow_auth",
]

SH_TOKEN_PATH: Final = "/auth/realms/main/protocol/openid-connect/token"  # noqa: S105 - a path
SH_TOKEN_PATHS: Final = (SH_TOKEN_PATH, "/oauth/token")
SK_AUTH_PATH: Final = "/oauth/ro"
SK_AUTH_PATHS: Final = (SK_AUTH_PATH,)
CONTROL_PREFIX: Final = "/_emulator/"

_AUTH_PATHS: dict[Service, tuple[str, ...]] = {
    SENTINELHUB: SH_TOKEN_PATHS,
    SPACEKNOW: SK_AUTH_PATHS,
    S3: (),
}

TOKEN_KEY = web.RequestKey("token", IssuedToken)
"""The validated token of an authenticated request (``request[TOKEN_KEY]``)."""

_SK_CONNECTION: Final = "Username-Password-Authentication"
_SK_FIELDS: Final = ("client_id", "username", "password", "connection", "grant_type", "scope")


def is_auth_path(service: Service, path: str) -> bool:
    """Whether ``path`` is a token endpoint of ``service``."""
    return path in _AUTH_PATHS[service]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(request: web.BaseRequest) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if there is one."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# -- Sentinel Hub ---------------------------------------------------------------


def _keycloak_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    """Client id and secret from ``Authorization: Basic`` (RFC 6749 2.3.1), if any."""
    scheme, _, encoded = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, sep, password = decoded.partition(":")
    if not sep:
        return None
    # OAuth2 form-encodes both parts before joining them.
    return unquote_plus(login), unquote_plus(password)


async def _sh_token(request: web.Request) -> web.Response:
    state = get_state(request)
    form = await request.post()
    grant_type = form.get("grant_type")
    if grant_type != "client_credentials":
        return _keycloak_error(400, "unsupported_grant_type", "Unsupported grant_type")
    client_id = form.get("client_id")
    client_secret = form.get("client_secret")
    if client_secret is None:
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, client_secret = basic
    creds = state.credentials
    if not (
        isinstance(client_id, str)
        and isinstance(client_secret, str)
        and _same(client_id, creds.sh_client_id)
        and _same(client_secret, creds.sh_client_secret)
    ):
        return _keycloak_error(401, "invalid_client", "Invalid client or Invalid client credentials")
    issued = state.tokens.issue(
        SENTINELHUB,
        subject=hashlib.sha256(client_id.encode()).hexdigest()[:32],
        extra_claims={
            "iss": f"{request.url.origin()}/auth/realms/main",
            "azp": client_id,
            "typ": "Bearer",
        },
    )
    return web.json_response(
        {
            "access_token": issued.token,
            "expires_in": int(state.tokens.ttl),
            "refresh_expires_in": 0,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "scope": "email profile",
        }
    )


def setup_sentinelhub_auth(app: web.Application, state: EmulatorState) -> None:
    """Add Sentinel Hub's token endpoints (public) to ``app``."""
    del state  # the handlers find it through the request
    for path in SH_TOKEN_PATHS:
        app.router.add_post(path, _sh_token)
        app[PUBLIC_PATHS_KEY].add(path)


# -- SpaceKnow ------------------------------------------------------------------


def _auth0_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def _sk_login(request: web.Request) -> web.Response:
    state = get_state(request)
    try:
        body: Any = await request.json()
    except ValueError:
        return _auth0_error(400, "invalid_request", "The request body must be JSON")
    if not isinstance(body, dict):
        return _auth0_error(400, "invalid_request", "The request body must be a JSON object")
    for name in _SK_FIELDS:
        if not isinstance(body.get(name), str) or not body[name]:
            return _auth0_error(400, "invalid_request", f"missing {name} parameter")
    creds = state.credentials
    if body["client_id"] != creds.sk_client_id:
        return _auth0_error(401, "invalid_client", "Unknown client")
    if body["grant_type"] != "password":
        return _auth0_error(400, "unsupported_grant_type", "grant_type must be password")
    if body["connection"] != _SK_CONNECTION:
        return _auth0_error(400, "invalid_request", "connection not found")
    if "openid" not in body["scope"].split():
        return _auth0_error(400, "invalid_scope", "scope must include openid")
    if not (_same(body["username"], creds.sk_username) and _same(body["password"], creds.sk_password)):
        return _auth0_error(401, "invalid_user_password", "Wrong email or password.")
    issued = state.tokens.issue(
        SPACEKNOW,
        subject="auth0|" + hashlib.sha256(body["username"].encode()).hexdigest()[:24],
        extra_claims={"iss": f"{request.url.origin()}/", "aud": body["client_id"]},
    )
    return web.json_response(
        {
            "id_token": issued.token,
            "access_token": state.tokens.opaque(),
            "scope": "openid",
            "token_type": "bearer",
        }
    )


def setup_spaceknow_auth(app: web.Application, state: EmulatorState) -> None:
    """Add SpaceKnow's login endpoint (public) to ``app``."""
    del state
    app.router.add_post(SK_AUTH_PATH, _sk_login)
    app[PUBLIC_PATHS_KEY].add(SK_AUTH_PATH)


# -- the bearer check -----------------------------------------------------------


def _unauthorized(service: Service, message: str) -> web.Response:
    if service == SENTINELHUB:
        return sh_error(401, message, headers={hdrs.WWW_AUTHENTICATE: "Bearer"})
    return sk_error(401, "NOT-AUTHORIZED", message)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse every non-public request without a valid bearer of this service."""
    path = request.path
    if path.startswith(CONTROL_PREFIX) or path in request.app[PUBLIC_PATHS_KEY]:
        return await handler(request)
    service = request.app[SERVICE_KEY]
    token = bearer_token(request)
    if token is None:
        return _unauthorized(service, "Authorization header with a Bearer token is required")
    issued = get_state(request).tokens.lookup(service, token)
    if issued is None:
        return _unauthorized(service, "The bearer token is not valid")
    if not issued.valid():
        return _unauthorized(service, "The bearer token has expired")
    request[TOKEN_KEY] = issued
    return await handler(request)

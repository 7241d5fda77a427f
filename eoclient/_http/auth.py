"""Bearer tokens for the services: obtained on demand, refreshed before expiry, single-flight.

A :class:`TokenProvider` hands out a valid token; however many requests ask at
once while the token is missing or about to lapse, exactly one token request
goes out (the others wait on the same lock and then find the fresh token).
A 401 from the service invalidates only the token that request carried, so a
burst of 401s for one stale token still causes one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from eoclient._log import log_event
from eoclient._redact import Secret
from eoclient.errors import AuthenticationError, ResponseDecodeError

__all__ = [
    "Auth0PasswordAuth",
    "ClientCredentialsAuth",
    "StaticTokenAuth",
    "TokenCall",
    "TokenProvider",
]

# (url, form-encoded fields or None, JSON body or None) -> decoded JSON object
TokenCall = Callable[[str, Mapping[str, str] | None, Mapping[str, str] | None], Awaitable[Any]]


class TokenProvider(ABC):
    """Caches one bearer token and renews it ``refresh_margin`` seconds before it lapses."""

    service: str = ""

    def __init__(self, *, refresh_margin: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._token: Secret | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    def cached(self) -> str | None:
        """The cached token while it is fresh (what :meth:`token` would return at once), else ``None``."""
        token = self._token
        if token is None or self._clock() >= self._expires_at:
            return None
        return token.reveal()

    async def token(self, call: TokenCall) -> str:
        """A token valid for at least the refresh margin (or half its lifetime, if shorter)."""
        token = self.cached()
        if token is not None:
            return token
        async with self._lock:
            token = self.cached()
            if token is not None:  # someone else refreshed while we waited
                return token
            value, lifetime = await self._obtain(call)
            margin = min(self.refresh_margin, lifetime / 2)
            # Kept as a Secret: vars(), repr() and debuggers never show the live token.
            self._token = Secret(value)
            self._expires_at = self._clock() + lifetime - margin
            self.refresh_count += 1
            log_event(logging.INFO, "auth.token_refresh", service=self.service, expires_in=round(lifetime))
            return value

    def invalidate(self, token: str | None) -> None:
        """Forget ``token`` if it is still the current one (a 401 said it is no good)."""
        if token is not None and self._token is not None and token == self._token.reveal():
            self._token = None
            self._expires_at = 0.0

    @abstractmethod
    async def _obtain(self, call: TokenCall) -> tuple[str, float]:
        """Ask the identity service; return ``(token, lifetime in seconds)``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service!r})"


def _field(payload: Any, name: str, url: str) -> Any:
    if not isinstance(payload, dict) or name not in payload:
        raise ResponseDecodeError(f"token response has no {name!r}", operation="auth.token", path=url)
    return payload[name]


class ClientCredentialsAuth(TokenProvider):
    """OAuth2 client-credentials grant (Sentinel Hub, Copernicus Data Space)."""

    service = "sentinelhub"

    def __init__(self, client_id: str, client_secret: Secret, token_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id
        self._secret = client_secret
        self.token_url = token_url

    async def _obtain(self, call: TokenCall) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret.reveal(),
        }
        payload = await call(self.token_url, form, None)
        token = _field(payload, "access_token", self.token_url)
        expires_in = payload.get("expires_in", 3600)
        if not isinstance(token, str) or not isinstance(expires_in, int | float) or expires_in <= 0:
            raise ResponseDecodeError("malformed token response", operation="auth.token", path=self.token_url)
        return token, float(expires_in)


SPACEKNOW_CLIENT_ID = "hmWJcfhRouDOaJK2L8asREMlMrv3jFE1"  # the public id the SpaceKnow docs prescribe
_SPACEKNOW_TOKEN_LIFETIME = 10 * 3600.0  # documented lifetime when the JWT does not say


def jwt_lifetime(token: str, *, now: float | None = None) -> float | None:
    """Seconds until the ``exp`` claim of a JWT, or ``None`` if it has none (no signature check)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = msgspec.json.decode(base64.urlsafe_b64decode(body))
    except (binascii.Error, msgspec.DecodeError, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float):
        return None
    return float(exp) - (time.time() if now is None else now)


class Auth0PasswordAuth(TokenProvider):
    """SpaceKnow's Auth0 password grant; the bearer is the ``id_token`` (valid 10 hours)."""

    service = "spaceknow"

    def __init__(
        self,
        username: str,
        password: Secret,
        auth_url: str,
        client_id: str = SPACEKNOW_CLIENT_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.username = username
        self._password = password
        self.auth_url = auth_url
        self.client_id = client_id

    async def _obtain(self, call: TokenCall) -> tuple[str, float]:
        body = {
            "client_id": self.client_id,
            "username": self.username,
            "password": self._password.reveal(),
            "connection": "Username-Password-Authentication",
            "grant_type": "password",
            "scope": "openid",
        }
        payload = await call(self.auth_url, None, body)
        token = _field(payload, "id_token", self.auth_url)
        if not isinstance(token, str) or not token:
            raise ResponseDecodeError("malformed login response", operation="auth.token", path=self.auth_url)
        lifetime = jwt_lifetime(token)
        if lifetime is None:
            lifetime = _SPACEKNOW_TOKEN_LIFETIME
        if lifetime <= 0:
            raise AuthenticationError(
                status=200,
                code="EXPIRED_TOKEN",
                service_message="the login service issued an already expired token",
                operation="auth.token",
                path=self.auth_url,
                service="spaceknow",
            )
        return token, lifetime


class StaticTokenAuth(TokenProvider):
    """A bearer token the caller already has (no refresh possible)."""

    def __init__(self, token: Secret, *, service: str = "", lifetime: float = 3600.0) -> None:
        super().__init__(refresh_margin=0.0)
        self.service = service
        self._static = token
        self._lifetime = lifetime

    async def _obtain(self, call: TokenCall) -> tuple[str, float]:
        return self._static.reveal(), self._lifetime

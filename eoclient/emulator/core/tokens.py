"""Emulator credentials and the store of issued bearer tokens.

Tokens expire on the real wall clock (``time.time()``), never on the
accelerated :class:`~eoclient.emulator.core.clock.EmulatorClock`, because clients
decide when to refresh with their own clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "SENTINELHUB",
    "S3",
    "SPACEKNOW",
    "SPACEKNOW_PUBLIC_CLIENT_ID",
    "Credentials",
    "IssuedToken",
    "Service",
    "TokenStore",
    "jwt_shaped",
]

Service = Literal["sentinelhub", "spaceknow", "s3"]
SENTINELHUB: Final = "sentinelhub"
SPACEKNOW: Final = "spaceknow"
S3: Final = "s3"
"""The emulator's own object store (its S3 API subset); it issues no bearer tokens."""

# The public Auth0 client id every SpaceKnow user sends with the login request.
SPACEKNOW_PUBLIC_CLIENT_ID: Final = "hmWJcfhRouDOaJK2L8asREMlMrv3jFE1"


@dataclass(frozen=True)
class Credentials:
    """The credentials the emulator accepts (fixed, not secret, overridable)."""

    # Published test values, deliberately not secret: anyone may log in to a local emulator.

    sh_client_id: str = "emulator-client"
    sh_client_secret: str = "emulator-client-secret-0123456789"  # noqa: S105
    sk_username: str = "user@example.com"
    sk_password: str = "emulator-password"  # noqa: S105
    sk_client_id: str = SPACEKNOW_PUBLIC_CLIENT_ID
    s3_access_key: str = "EMULATORACCESSKEY001"
    s3_secret_key: str = "emulator-s3-secret-key-0123456789"  # noqa: S105
    s3_region: str = "eu-central-1"


@dataclass
class IssuedToken:
    """One bearer token the emulator handed out."""

    service: Service
    token: str
    subject: str
    issued_at: float
    expires_at: float

    def valid(self, now: float | None = None) -> bool:
        """Whether the token is still accepted at real time ``now``."""
        return (time.time() if now is None else now) < self.expires_at


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_shaped(claims: dict[str, Any], key: bytes) -> str:
    """Return ``header.payload.signature`` like a JWT, signed with HMAC-SHA256.

    Clients may decode the payload (for ``exp``); nobody verifies the signature.
    """
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = _b64url(hmac.new(key, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


class TokenStore:
    """Issues, validates and revokes tokens of both services.

    ``ttl`` is in real seconds. Tokens are only valid for the service that
    issued them.
    """

    def __init__(self, ttl: float = 3600.0, *, seed: int = 0) -> None:
        if ttl <= 0:
            raise ValueError("token ttl must be > 0")
        self.ttl = ttl
        self._key = hashlib.sha256(f"eoclient-emulator-{seed}".encode()).digest()
        self._tokens: dict[str, IssuedToken] = {}
        self._counter = 0

    def issue(
        self, service: Service, subject: str, *, extra_claims: dict[str, Any] | None = None
    ) -> IssuedToken:
        """Issue a JWT-shaped token for ``subject`` that expires after ``ttl``."""
        now = time.time()
        expires_at = now + self.ttl
        self._counter += 1
        claims: dict[str, Any] = {
            "sub": subject,
            "iat": int(now),
            # Rounded down: a client never believes a token lives longer than it does.
            "exp": int(expires_at),
            "jti": f"{service}-{self._counter}",
        }
        claims.update(extra_claims or {})
        token = IssuedToken(
            service=service,
            token=jwt_shaped(claims, self._key),
            subject=subject,
            issued_at=now,
            expires_at=expires_at,
        )
        self._tokens[token.token] = token
        return token

    def opaque(self) -> str:
        """Return a 32-character opaque token (SpaceKnow's ``access_token``)."""
        self._counter += 1
        digest = hmac.new(self._key, f"opaque-{self._counter}".encode(), hashlib.sha256)
        return _b64url(digest.digest())[:32]

    def lookup(self, service: Service, token: str) -> IssuedToken | None:
        """Return the record of a token issued by ``service``, expired or not."""
        record = self._tokens.get(token)
        if record is None or record.service != service:
            return None
        return record

    def validate(self, service: Service, token: str) -> bool:
        """Whether ``token`` was issued by ``service`` and has not expired."""
        record = self.lookup(service, token)
        return record is not None and record.valid()

    def expire(self, service: Service | None = None) -> int:
        """Make every token (of ``service``, or of both) invalid now; return how many."""
        now = time.time()
        count = 0
        for record in self._tokens.values():
            if (service is None or record.service == service) and record.expires_at > now:
                record.expires_at = now
                count += 1
        return count

    def issued(self, service: Service | None = None) -> list[IssuedToken]:
        """Every token issued so far (of ``service``, or of both), oldest first."""
        return [t for t in self._tokens.values() if service is None or t.service == service]

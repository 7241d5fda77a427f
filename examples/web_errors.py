"""How the web apps answer eoclient's errors: which HTTP status, and a JSON body that says why.

Bad input is refused by eoclient before anything is sent (a ``ValidationError``
naming the field): that is the caller's mistake, 422. A job or request the
service does not know is 404. Any other error the service answered with is
502 (our upstream failed), carrying the service's own code and message; the
error text never holds a secret. What eoclient could not reach at all is 504.
"""

from __future__ import annotations

from typing import Any

from eoclient.errors import APIError, EOClientError, NotFoundError, TransportError, ValidationError


def answer_for(exc: EOClientError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body a web app answers ``exc`` with."""
    if isinstance(exc, ValidationError):
        return 422, {"error": "invalid input", "field": exc.field, "message": exc.message}
    if isinstance(exc, NotFoundError):
        return 404, {"error": "not found", "message": exc.service_message or exc.message}
    if isinstance(exc, APIError):
        body = {"error": "upstream error", "service": exc.service, "status": exc.status, "code": exc.code}
        return 502, {**body, "message": exc.service_message or exc.message}
    if isinstance(exc, TransportError):
        return 504, {"error": "upstream unreachable", "message": exc.message}
    return 500, {"error": type(exc).__name__, "message": exc.message}

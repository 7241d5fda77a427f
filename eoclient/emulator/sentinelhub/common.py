"""Building blocks shared by the emulated Sentinel Hub endpoints: refusals, JSON bodies, paging."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from eoclient.emulator.core.errors import sh_error

__all__ = ["MAX_COUNT", "Refused", "handler", "json_object", "json_payload", "view_page"]

MAX_COUNT = 100


class Refused(Exception):
    """A request the service refuses; answer it with ``sh_error(exc.status, str(exc))``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def handler(func: Any) -> Any:
    """Answer :class:`Refused` raised by a handler as a Sentinel Hub error."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await func(request)
        except Refused as exc:
            return sh_error(exc.status, str(exc))
        return response

    wrapper.__name__ = func.__name__
    return wrapper


async def json_object(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        raise Refused("a JSON body is required")
    try:
        body = await request.json()
    except ValueError:
        raise Refused("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise Refused("the request body must be a JSON object")
    return body


def _count(request: web.Request, default: int) -> int:
    raw = request.query.get("count")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_COUNT:
        raise Refused(f"count must be an integer between 1 and {MAX_COUNT}")
    return int(raw)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"view:{offset}".encode()).decode().rstrip("=")


def _offset(request: web.Request) -> int:
    raw = request.query.get("viewtoken")
    if raw is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "view" or not number.isdigit():
        raise Refused(f"invalid viewtoken {raw!r}")
    return int(number)


def view_page(request: web.Request, items: list[dict[str, Any]], default: int) -> dict[str, Any]:
    """One page of ``items`` in Sentinel Hub's ``{"data", "links"}`` shape, by ``count``/``viewtoken``."""
    count = _count(request, default)
    start = _offset(request)
    links: dict[str, Any] = {"@id": str(request.url), "currentToken": _token(start)}
    end = start + count
    if end < len(items):
        links["nextToken"] = _token(end)
        links["next"] = str(request.url.update_query(viewtoken=links["nextToken"]))
    if start > 0:
        links["previousToken"] = _token(max(0, start - count))
    return {"data": items[start:end], "links": links}


async def json_payload(request: web.Request) -> Any:
    """The decoded JSON body of a Process-family request, or the service's 415/400 answer."""
    if not request.body_exists or request.content_type != "application/json":
        return sh_error(415, "The request body must be application/json", "COMMON_UNSUPPORTED_MEDIA_TYPE")
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        return sh_error(400, f"Malformed JSON: {exc}", "COMMON_BAD_PAYLOAD")

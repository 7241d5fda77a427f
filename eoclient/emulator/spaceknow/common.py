"""What every emulated SpaceKnow family shares: its error exception, the JSON body, route wrapping.

A handler raises :class:`SkError` wherever it finds something to refuse, and is
registered through :func:`sk_route`, which answers the error in SpaceKnow's
shape (``{"error": CODE, "errorMessage": text}``), with
:func:`~eoclient.emulator.core.routing.add_route` declaring the body fields the
reference lists (a field it does not list, a required one missing, or any query
parameter is refused before the handler runs)::

    async def _scene_info(request):
        require(request, "imagery.scene-info")   # sk_accounts: 403 NOT-AUTHORIZED
        body = await json_body(request)           # 400 BAD-REQUEST
        scene = find_scene(body["sceneId"], get_state(request))
        if scene is None:
            raise scene_not_found(body["sceneId"])
        return web.json_response(scene)

    add_route(app, "POST", "/imagery/scene-info", sk_route(_scene_info),
              required_fields=("sceneId",), fields=("tiles", "forceOffline"))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiohttp import web

from eoclient.emulator.core.errors import sk_error

__all__ = ["SCENE_NOT_FOUND", "Handler", "SkError", "json_body", "scene_not_found", "sk_route"]

SCENE_NOT_FOUND: Final = "SCENE-NOT-FOUND"
"""The code of every family's answer about a scene id that does not exist (404)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SkError(Exception):
    """A refusal in SpaceKnow's shape; :func:`sk_route` turns it into the answer."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers) if headers else None

    def response(self) -> web.Response:
        """The error answer: ``{"error": code, "errorMessage": message}`` with ``status``."""
        return sk_error(self.status, self.code, self.message, headers=self.headers)


def scene_not_found(scene_id: str) -> SkError:
    """The 404 ``SCENE-NOT-FOUND`` refusal for ``scene_id``."""
    return SkError(404, SCENE_NOT_FOUND, f"scene {scene_id} not found")


async def json_body(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body (``{}`` when absent and not ``required``); ``SkError`` 400 otherwise."""
    if not request.body_exists:
        if required:
            raise SkError(400, "BAD-REQUEST", "a JSON body is required")
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise SkError(400, "BAD-REQUEST", "the request body must be JSON") from None
    if not isinstance(body, dict):
        raise SkError(400, "BAD-REQUEST", "the request body must be a JSON object")
    return body


def sk_route(handler: Handler) -> Handler:
    """``handler`` with every :class:`SkError` it raises answered as SpaceKnow's error."""

    async def route(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SkError as exc:
            return exc.response()

    return route

"""What every emulated SpaceKnow family shares: the answer about a scene id that does not exist.

Refusals are :class:`~eoclient.emulator.core.refusal.Refusal`, answered in
SpaceKnow's shape (``{"error": CODE, "errorMessage": text}``) by
:func:`~eoclient.emulator.core.routing.contract_middleware`; bodies are read
with :func:`~eoclient.emulator.core.refusal.json_body`; routes are declared
with :func:`~eoclient.emulator.core.routing.add_route` (a body field the
reference does not list, a required one missing, or any query parameter is
refused before the handler runs)::

    async def _scene_info(request):
        require(request, "imagery.scene-info")   # accounts: 403 NOT-AUTHORIZED
        body = await json_body(request)           # 400 BAD-REQUEST
        scene = find_scene(body["sceneId"], get_state(request))
        if scene is None:
            raise scene_not_found(body["sceneId"])
        return web.json_response(scene)

    add_route(app, "POST", "/imagery/scene-info", _scene_info,
              required_fields=("sceneId",), fields=("tiles", "forceOffline"))
"""

from __future__ import annotations

from typing import Final

from eoclient.emulator.core.refusal import Refusal

__all__ = ["SCENE_NOT_FOUND", "scene_not_found"]

SCENE_NOT_FOUND: Final = "SCENE-NOT-FOUND"
"""The code of every family's answer about a scene id that does not exist (404)."""


def scene_not_found(scene_id: str) -> Refusal:
    """The 404 ``SCENE-NOT-FOUND`` refusal for ``scene_id``."""
    return Refusal(404, SCENE_NOT_FOUND, f"scene {scene_id} not found")

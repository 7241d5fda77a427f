"""Emulated SpaceKnow Credits: a group's credit balance, its transactions and allocations, area costs.

Users, groups (balance, credits tier, license) and permissions are
:mod:`eoclient.emulator.spaceknow.accounts`; this module keeps the bookkeeping
(:class:`~.engine.Ledger`) and the cost model. Every allocation costs the area newly
covered — tiles of 0.01° of a scene's footprint that the group has not
allocated before — times the provider's rate and the tier's factor, and is
recorded as a ``credit.allocate`` transaction plus an allocation (same id),
lowering the group's balance. The seeded history explains the opening
balances: a ``credit.update`` per group, then the teammate's allocation over
Prague and the outsider's over Perth.

Other SpaceKnow families price areas with :func:`~.engine.quote` and allocate
through :func:`~.engine.allocate` (a Kraken dry run with ``allocate``); their
refusals are :class:`~eoclient.emulator.core.refusal.Refusal`, answered as they
are by the route that called them::

    from eoclient.emulator.spaceknow.credits.engine import allocate
    cost = allocate(state, scene_ids, extent, current_user(request).id)

Paths follow the permission names (``credits.check-area`` →
``/credits/check-area``); listings page by ``cursor`` (standard base64 of an
offset, :data:`PAGE_SIZE` items a page: :data:`~.routes.CURSOR`, paged with
:func:`eoclient.emulator.core.paging.page`).

Layout: :mod:`.engine` (the ledger, its seeded history, the cost model,
allocation), :mod:`.area` (an area's polygons and the footprint tiles it
touches), :mod:`.routes` (the HTTP side; ``setup``).

Error codes: ``NOT-AUTHORIZED`` (403, a permission is missing),
``LICENSE-EXPIRED`` (403), ``CREDIT-LIMIT-EXCEEDED`` (403, the user's limit),
``INSUFFICIENT-CREDIT`` (403, the group's balance), ``SCENE-NOT-FOUND``,
``USER-NOT-FOUND``, ``GROUP-NOT-FOUND`` (404), ``INVALID-CURSOR`` and
``BAD-REQUEST`` (400).
"""

from __future__ import annotations

from eoclient.emulator.spaceknow.credits.engine import allocate, area_cost, ledger, used_credit
from eoclient.emulator.spaceknow.credits.routes import PAGE_SIZE, setup

# What the server and the tests take from the package; the rest (quotes, rates, tiers) is in .engine.
__all__ = ["PAGE_SIZE", "allocate", "area_cost", "ledger", "setup", "used_credit"]

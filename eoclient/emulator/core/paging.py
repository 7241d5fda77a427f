"""One paging helper for every emulated listing: a window over a list, and opaque offset tokens.

Each service keeps its own token format (Sentinel Hub's ``viewtoken`` is
base64 of ``view:<offset>``, SpaceKnow's credits cursor base64 of the offset,
the Catalog's ``next`` a plain offset); :class:`OffsetToken` encodes and
checks them all, refusing a token the service did not hand out with a
:class:`~eoclient.emulator.core.refusal.Refusal` in the route's shape and
with the service's own words::

    VIEW = OffsetToken(prefix="view", parameter="viewtoken")
    start = VIEW.decode(request.query.get("viewtoken"))
    window = page(items, start, count)
    if window.next is not None:
        links["nextToken"] = VIEW.encode(window.next)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from eoclient.emulator.core.refusal import Refusal

__all__ = ["OffsetToken", "Window", "page"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """One page of a listing: its ``items``, and the offset of the next page (``None``: the last)."""

    items: list[T]
    start: int
    next: int | None


def page(items: Sequence[T], start: int, size: int) -> Window[T]:
    """The ``size`` items from ``start``, and where the next page starts."""
    end = start + size
    return Window(list(items[start:end]), start, end if end < len(items) else None)


@dataclass(frozen=True, slots=True)
class OffsetToken:
    """An offset as a token: ``<prefix>:<offset>`` or the bare offset, base64-encoded unless not ``opaque``.

    ``urlsafe`` picks the URL-safe alphabet without padding (query
    parameters); otherwise standard padded base64 (JSON bodies). ``decode``
    refuses (400, ``code``) what :meth:`encode` did not produce with the
    service's own ``message`` (a template of ``{parameter}`` and ``{raw!r}``,
    the token sent); ``None`` (no token sent) is offset 0.
    """

    parameter: str
    prefix: str | None = None
    opaque: bool = True
    urlsafe: bool = True
    code: str | None = None
    message: str = "invalid {parameter} {raw!r}"

    def encode(self, offset: int) -> str:
        """The token of ``offset``."""
        text = f"{self.prefix}:{offset}" if self.prefix else str(offset)
        if not self.opaque:
            return text
        if self.urlsafe:
            return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        return base64.b64encode(text.encode()).decode()

    def decode(self, raw: object) -> int:
        """The offset ``raw`` stands for (0 for ``None``); a :class:`Refusal` for anything else."""
        if raw is None:
            return 0
        text = self._unwrap(str(raw))
        if self.prefix:
            kind, _, text = text.partition(":")
            if kind != self.prefix:
                text = ""
        if not (text.isascii() and text.isdigit()):  # "²".isdigit(), yet int("²") fails
            raise Refusal(400, self.code, self.message.format(parameter=self.parameter, raw=raw))
        return int(text)

    def _unwrap(self, text: str) -> str:
        if not self.opaque:
            return text
        try:
            if self.urlsafe:
                return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            return base64.b64decode(text, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""

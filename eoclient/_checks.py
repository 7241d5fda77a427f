"""Checks of settings and plain arguments, shared by the settings classes and the clients.

Each raises :class:`~eoclient.errors.ValidationError` naming the field
(``RetryPolicy.attempts``), never the ``TypeError`` a comparison with a string
would raise: a setting given as ``"3"`` or ``True`` is refused, not coerced.
"""

from __future__ import annotations

import math
from typing import Any

from eoclient.errors import ValidationError

__all__ = [
    "check_flag",
    "check_instance",
    "check_int",
    "check_seconds",
    "check_text",
    "non_negative",
    "optional_text",
]


def check_int(field: str, value: Any, *, minimum: int) -> None:
    """``value`` is an ``int`` (not a ``bool``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValidationError(field, f"must be at least {minimum}, got {value}")


def check_seconds(
    field: str, value: Any, *, minimum: float = 0.0, positive: bool = False, optional: bool = False
) -> None:
    """``value`` is a finite number (not a ``bool``) ``>= minimum`` (``> 0`` with ``positive``).

    ``None`` passes when ``optional`` (a setting that can be switched off).
    """
    if value is None and optional:
        return
    bound = "> 0" if positive else f">= {minimum:g}"
    what = f"a finite number {bound}" + (" or None" if optional else "")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(field, f"must be {what}, got {value!r}")
    if value < minimum or (positive and value <= 0):
        raise ValidationError(field, f"must be {what}, got {value!r}")


def check_flag(field: str, value: Any) -> bool | None:
    """``True``, ``False`` or ``None``; anything else (``"no"``, ``0``) is refused, not made truthy."""
    if value is not None and not isinstance(value, bool):
        raise ValidationError(field, f"must be True, False or None, got {value!r}")
    return value


def check_instance(field: str, value: Any, type_: type) -> None:
    """``value`` is a ``type_`` (a settings object given as a dict or a number is refused)."""
    if not isinstance(value, type_):
        raise ValidationError(
            field, f"expected a {type_.__name__} (eoclient.{type_.__name__}), got {type(value).__name__}"
        )


def check_text(field: str, value: Any) -> str:
    """``value`` is a string with something in it (not only spaces); returned as given."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, f"must be a non-empty string, got {value!r}")
    return value


def optional_text(field: str, value: Any, *, allow_empty: bool = False) -> str | None:
    """``None``, or a string (non-empty unless ``allow_empty``); returned as given."""
    if value is None:
        return None
    if allow_empty:
        if not isinstance(value, str):
            raise ValidationError(field, f"must be a string or None, got {value!r}")
        return value
    return check_text(field, value)


def non_negative(field: str, value: Any) -> float | None:
    """``None``, or a finite number ``>= 0`` (not a ``bool``) as a float."""
    if value is None:
        return None
    check_seconds(field, value)
    return float(value)

"""Every request a contract test makes through the emulator is checked against the OpenAPI document.

The ``eo_emulator`` fixture is wrapped: once the test is done, the path,
query and header parameters of every recorded request to a family the
document covers are validated (:func:`tests.contract.openapi.validate_parameters`).
Bodies are checked by the tests themselves, which know what they sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eoclient.emulator import Emulator
from tests.contract.openapi import SPEC_PATH, validate_recorded_parameters


@pytest.fixture
async def eo_emulator(eo_emulator: Emulator) -> AsyncIterator[Emulator]:
    """The plugin's emulator; on teardown, every request it saw is checked against the document."""
    yield eo_emulator
    if SPEC_PATH.is_file():
        validate_recorded_parameters(eo_emulator.requests)

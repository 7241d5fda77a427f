"""`import eoclient` loads only the errors; every public name still resolves, on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import eoclient


def test_import_eoclient_loads_no_client_and_no_http_stack() -> None:
    code = (
        "import sys, eoclient\n"
        "heavy = [m for m in ('aiohttp', 'structlog', 'msgspec', 'anyio', 'eoclient.sentinelhub', "
        "'eoclient.jobs', 'eoclient._http.transport') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", sorted(set(eoclient.__all__) - {"__version__", "errors"}))
def test_every_public_name_resolves_to_its_home(name: str) -> None:
    value = getattr(eoclient, name)
    home = eoclient._LAZY[name]
    assert value is getattr(sys.modules[home], name)
    assert name in dir(eoclient)


def test_from_import_and_subpackages_still_work() -> None:
    from eoclient import SentinelHub

    assert SentinelHub.__module__ == "eoclient.sentinelhub.client"
    assert eoclient.geo.crs_url(4326).endswith("CRS84")


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'not_a_thing'"):
        _ = eoclient.not_a_thing

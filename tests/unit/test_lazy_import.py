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


# -- the Sentinel Hub client: its services and the package's names load on first use -----------

_SH = ["batch", "batch_statistics", "async_process", "byoc", "catalog", "dataimport", "metadata"]
_SH += ["tiling_grids", "zarr_import", "process_area"]
SENTINELHUB_SERVICES = (*(f"eoclient.sentinelhub.{m}" for m in _SH), "eoclient.storage")
_SK = ["imagery", "kraken", "datacube", "credits", "users"]
SPACEKNOW_SERVICES = tuple(f"eoclient.spaceknow.{m}" for m in _SK)


@pytest.mark.parametrize(
    ("make", "modules", "used", "other"),
    [
        (
            "eoclient.SentinelHub(client_id='id', client_secret='secret')",
            SENTINELHUB_SERVICES,
            "batch",
            "eoclient.sentinelhub.byoc",
        ),
        (
            "eoclient.SpaceKnow(username='me@example.com', password='secret')",
            SPACEKNOW_SERVICES,
            "kraken",
            "eoclient.spaceknow.datacube",
        ),
    ],
)
def test_a_client_loads_no_service_until_it_is_used(
    make: str, modules: tuple[str, ...], used: str, other: str
) -> None:
    code = (
        "import sys, eoclient\n"
        f"client = {make}\n"
        f"print(','.join(m for m in {modules!r} if m in sys.modules))\n"
        f"service = client.{used}\n"
        f"print(type(service).__module__, service is client.{used}, {other!r} in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    home = next(m for m in modules if m.endswith("." + used))
    assert out.stdout.splitlines() == ["", f"{home} True False"]


def test_a_service_is_made_once_per_client_and_can_be_replaced() -> None:
    from eoclient.sentinelhub.catalog import Catalog
    from eoclient.sentinelhub.client import SentinelHub

    one = SentinelHub(client_id="id", client_secret="secret")
    two = SentinelHub(client_id="id", client_secret="secret")
    assert isinstance(one.catalog, Catalog)
    assert one.catalog is one.catalog
    assert one.catalog is not two.catalog
    assert one.catalog._ctx is one.context
    one.catalog = "a double"  # type: ignore[assignment]
    assert one.catalog == "a double"
    assert type(SentinelHub.__dict__["catalog"]).__name__ == "Service"  # on the class: the descriptor


@pytest.mark.parametrize("name", sorted(__import__("eoclient.sentinelhub").sentinelhub.__all__))
def test_every_sentinelhub_name_resolves_and_aliases_keep_their_home(name: str) -> None:
    import eoclient.sentinelhub as package

    value = getattr(package, name)
    path, _, attr = package._LAZY[name].partition(":")
    assert value is getattr(sys.modules[path], attr or name)
    assert name in dir(package)


def test_an_unknown_sentinelhub_name_is_an_attribute_error_and_submodules_still_import() -> None:
    import eoclient.sentinelhub as package

    with pytest.raises(AttributeError, match=r"'eoclient\.sentinelhub' has no attribute 'not_a_thing'"):
        _ = package.not_a_thing
    from eoclient.sentinelhub import batch_jobs  # a submodule, not a name of the table

    assert batch_jobs.__name__ == "eoclient.sentinelhub.batch_jobs"

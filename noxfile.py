"""Developer sessions: tests, lint, typecheck, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
SUPPORTED = ["3.11", "3.12", "3.13"]  # as the package classifiers say


@nox.session(python=SUPPORTED)
def tests(session: nox.Session) -> None:
    """The whole test suite (unit, emulator, integration)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "eoclient", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "eoclient", "tests", "benchmarks", "examples", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy", "--strict", "eoclient")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks side by side with the peers (see benchmarks/README.md); ``nox -s bench -- --quick``."""
    # The peers are installed here only: never dependencies of eoclient or of its test extra.
    # moto's S3 server and boto3 seed the object-storage scenarios; obstore is eoclient's s3 extra.
    # The decode and area scenarios need eoclient's xarray extra; rasterio (GDAL, from its wheel) is a peer.
    # stac-paging: rustac serves the STAC API, pystac-client is the peer.
    session.install(
        "-e",
        ".[s3,xarray]",
        "requests",
        "sentinelhub",
        "aiobotocore",
        "moto[server]",
        "rasterio",
        "pystac-client",
        "rustac",
    )
    session.run("python", "-m", "benchmarks", *session.posargs)

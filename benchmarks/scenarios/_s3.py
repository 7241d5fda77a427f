"""The object-storage rows' clients: eoclient.storage, obstore, aiobotocore and bare aiohttp on moto."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

from benchmarks.measure import Context


def imported(ctx: Context, module: str) -> None:
    """Record how long a fresh interpreter takes to import ``module`` (best of 3), then import it here."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    best = min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    )
    ctx.fact(import_s=round(best, 3))
    importlib.import_module(module)


def figures(facts: dict[str, Any]) -> str:
    return f"import {facts.get('import_s', 0):.3f} s in a fresh interpreter (best of 3)"


def settings(ctx: Context) -> Any:
    from eoclient.storage import StorageSettings  # noqa: PLC0415

    s3 = ctx.info["s3"]
    return StorageSettings(
        endpoint=s3["endpoint"], access_key=s3["access_key"], secret_key=s3["secret_key"], region=s3["region"]
    )


def obstore_store(ctx: Context) -> Any:
    from obstore.store import S3Store  # noqa: PLC0415 - the peer is optional

    s3 = ctx.info["s3"]
    return S3Store(
        s3["bucket"],
        endpoint=s3["endpoint"],
        access_key_id=s3["access_key"],
        secret_access_key=s3["secret_key"],
        region=s3["region"],
        client_options={"allow_http": True},
    )


def aiobotocore_client(ctx: Context) -> Any:
    """An ``async with`` context of an aiobotocore S3 client (path-style, like the others)."""
    from aiobotocore.config import AioConfig  # noqa: PLC0415 - the peer is optional
    from aiobotocore.session import get_session  # noqa: PLC0415

    s3 = ctx.info["s3"]
    return get_session().create_client(
        "s3",
        endpoint_url=s3["endpoint"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
        region_name=s3["region"],
        config=AioConfig(s3={"addressing_style": "path"}),
    )

"""A real S3 server for the object-storage scenarios: moto's server mode, in a process of its own.

Like the emulator, the server never shares a process (or a GIL) with a
client. The runner seeds it with boto3 (moto's own dependency) before the
rows run; every row then reads the same bucket.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ACCESS_KEY = "AKIAEOCLIENTBENCH001"
SECRET_KEY = "eoclient-bench-secret-key-0123456789abcd"  # moto accepts any key
REGION = "eu-central-1"
BUCKET = "bench"

_SERVE = (
    "import sys\n"
    "from moto.server import ThreadedMotoServer\n"
    "s = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "s.start()\n"
    "print(s.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "s.stop()\n"
)


@contextmanager
def moto_process() -> Iterator[dict[str, Any]]:
    """Start moto's S3 server on a loopback port; yield how to reach it (``s3`` info for the rows)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # werkzeug logs every request
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"moto's server exited before it was ready (code {proc.wait(10)})")
        yield {
            "endpoint": f"http://127.0.0.1:{int(line)}",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region": REGION,
            "bucket": BUCKET,
        }
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def boto3_client(s3: dict[str, Any]) -> Any:
    """A boto3 client of the server, for seeding (boto3 comes with moto)."""
    import boto3  # noqa: PLC0415 - moto's dependency, needed only to seed the scenario

    return boto3.client(
        "s3",
        endpoint_url=s3["endpoint"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
        region_name=s3["region"],
    )


def create_bucket(s3: dict[str, Any]) -> Any:
    client = boto3_client(s3)
    client.create_bucket(Bucket=s3["bucket"], CreateBucketConfiguration={"LocationConstraint": s3["region"]})
    return client


Seed = Callable[[dict[str, Any], dict[str, Any]], object]


def with_moto(seed: Seed) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    """A scenario ``setup``: moto's server for the scenario's rows, seeded by ``seed(s3, params)``."""

    @contextmanager
    def setup(info: dict[str, Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        with moto_process() as s3:
            seed(s3, params)
            yield {"s3": s3}

    return setup

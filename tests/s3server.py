"""A real S3 server on loopback for the tests: moto's server mode, started once per test session.

Every test that needs object storage takes the ``s3`` fixture (tests/conftest.py):
an :class:`S3Server` with the endpoint, working credentials, a boto3 client
for arranging and checking objects, and :meth:`S3Server.bucket` for a fresh
bucket per test. Nothing here talks to the internet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ACCESS_KEY = "AKIAEOCLIENTTEST0001"
SECRET_KEY = "eoclient-test-secret-key-0123456789abcdef"  # moto accepts any key
REGION = "eu-central-1"


@dataclass
class S3Server:
    """A running moto S3 server: ``endpoint`` (``http://127.0.0.1:<port>``) and its credentials."""

    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    _names: Iterator[int] = field(default_factory=itertools.count)

    def client(self) -> Any:
        """A boto3 S3 client of this server (for arranging and checking objects in tests)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    def bucket(self, prefix: str = "test") -> str:
        """Create a new, empty bucket and return its name."""
        name = f"{prefix}-{next(self._names)}"
        where = {"LocationConstraint": self.region}
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration=where)
        return name

    def env(self) -> dict[str, str]:
        """The ``AWS_*`` environment variables that point a client at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
        }


def start_server() -> tuple[S3Server, Any]:
    """Start moto's threaded server on an ephemeral loopback port; returns it and its stopper."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return S3Server(endpoint=f"http://{host}:{port}"), server


def emulator_s3_client(emu: Any) -> Any:
    """A boto3 S3 client of an emulator's own object store (``emu.s3_url``, its S3 keys)."""
    import boto3

    c = emu.credentials
    return boto3.client(
        "s3",
        endpoint_url=emu.s3_url,
        aws_access_key_id=c.s3_access_key,
        aws_secret_access_key=c.s3_secret_key,
        region_name=c.s3_region,
    )

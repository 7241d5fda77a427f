"""AWS Signature Version 4 for the emulator's own PUTs to a real S3 server (no SDK in the emulator)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from yarl import URL

__all__ = ["sign"]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    method: str,
    url: URL,
    payload: bytes,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers (``Authorization``, ``x-amz-date``, ``x-amz-content-sha256``) that sign a request."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = moment[:8]
    host = url.raw_host or ""
    if url.port is not None and not url.is_default_port():
        host = f"{host}:{url.port}"
    payload_hash = hashlib.sha256(payload).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": moment}
    signed = ";".join(sorted(headers))
    canonical_query = "&".join(
        f"{k}={v}"
        for k, v in sorted(
            pair.split("=", 1) if "=" in pair else (pair, "")
            for pair in url.raw_query_string.split("&")
            if pair
        )
    )
    canonical = "\n".join(
        [
            method,
            url.raw_path or "/",
            canonical_query,
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            signed,
            payload_hash,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", moment, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        ),
        "x-amz-date": moment,
        "x-amz-content-sha256": payload_hash,
    }

"""Failures made into :mod:`eoclient.errors`: a broken connection, an error status, a wrong answer.

The stages raise :class:`Failed` for what the retry stage may try again and
the public error itself for what no retry can mend (a refused redirect, an
unexpected content type, an error document inside a 2xx). No error raised to
users chains an aiohttp exception: those hold the request's headers (the bearer).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from eoclient._http import media
from eoclient._http.dialects import ErrorInfo
from eoclient._http.options import RequestOptions
from eoclient.errors import (
    APIError,
    AuthenticationError,
    EOClientError,
    TransportError,
    UnexpectedContentError,
    api_error_class,
)
from eoclient.errors import TimeoutError as EOTimeoutError

__all__ = [
    "ERROR_MARK",
    "ERROR_SNIFF_BYTES",
    "Failed",
    "api_error",
    "printable_url",
    "refuse_error_document",
    "transport_error",
    "unexpected_content",
]

_EXCERPT_BYTES: Final = 512
# An error document inside a 2xx names its error in its first bytes: bodies without the mark are data.
ERROR_MARK: Final = b'"error'
ERROR_SNIFF_BYTES: Final = 64


class Failed(Exception):
    """An attempt failed in a way another attempt might not: the retry stage decides.

    ``status`` is the HTTP status (None when no answer came); ``resendable``
    says whether sending the request again can do no harm (a read, a request
    that never left, a 429); ``retry_after`` is the service's hint in seconds.
    Never seen by users: the retry stage raises ``error``.
    """

    __slots__ = ("error", "resendable", "retry_after", "status")

    def __init__(
        self, error: EOClientError, *, status: int | None, resendable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.resendable = resendable
        self.retry_after = retry_after


def transport_error(exc: BaseException, operation: str, method: str, path: str) -> TransportError:
    """The typed error for a low-level failure; the caller raises it unchained (see TransportError)."""
    kind = type(exc).__name__
    sent = not never_sent(exc)
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return EOTimeoutError(
            f"timed out: {kind}", operation=operation, method=method, path=path, cause_type=kind, sent=sent
        )
    return TransportError(
        f"connection failed: {_describe(exc)}",
        operation=operation,
        method=method,
        path=path,
        cause_type=kind,
        sent=sent,
    )


def _describe(exc: BaseException) -> str:
    """A one-line account of an aiohttp failure without its request headers (str() may include them)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{type(exc).__name__}: {exc.message}" if exc.message else type(exc).__name__
    return str(exc) or type(exc).__name__


def never_sent(exc: BaseException) -> bool:
    """True when the request provably did not reach the server (no connection was made)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # timed out while connecting
        return True
    return isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(
        exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    )


def transient(exc: BaseException) -> bool:
    """Whether trying again could help: a certificate or TLS failure will fail the same way."""
    return not isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError)


def api_error(
    resp: aiohttp.ClientResponse, body: bytes, opts: RequestOptions, *, path: str, retry_after: float | None
) -> APIError:
    """The error an error status stands for, in the request's dialect (a token endpoint's is OAuth's)."""
    status, dialect = resp.status, opts.dialect
    info = dialect.parse_error(body, resp.headers.get("Content-Type", "").lower())
    cls: type[APIError]
    if dialect.auth_endpoint and 400 <= status < 500 and status != 429:
        cls = AuthenticationError
    else:
        cls = api_error_class(status)
    return _service_error(cls, resp, info, opts, path=path, retry_after=retry_after)


def _service_error(
    cls: type[APIError],
    resp: aiohttp.ClientResponse,
    info: ErrorInfo,
    opts: RequestOptions,
    *,
    path: str,
    retry_after: float | None = None,
) -> APIError:
    """``cls`` carrying the service's code, message and details, and where the request went."""
    return cls(
        status=resp.status,
        code=info.code,
        service_message=info.message,
        details=info.details,
        retry_after=retry_after,
        request_id=resp.headers.get("x-request-id") or resp.headers.get("x-amz-request-id"),
        **opts.error_context(path),
    )


async def unexpected_content(
    resp: aiohttp.ClientResponse, expect: Collection[str], *, operation: str, path: str
) -> UnexpectedContentError:
    """The error for a 2xx answer of a type the request did not ask for, with the start of its body."""
    try:
        head = await resp.content.read(_EXCERPT_BYTES)
    except (aiohttp.ClientError, TimeoutError):
        head = b""
    return UnexpectedContentError(
        expected=expect,
        received=media.media_type(resp.headers.get("Content-Type", "")),
        excerpt=media.excerpt(head),
        operation=operation,
        path=path,
        status=resp.status,
    )


def refuse_error_document(
    resp: aiohttp.ClientResponse, body: bytes, opts: RequestOptions, *, path: str
) -> None:
    """A 2xx whose JSON body is the service's error document is that error, not data."""
    dialect = opts.dialect
    if dialect.error_document is None or body.find(ERROR_MARK, 0, ERROR_SNIFF_BYTES) < 0:
        return  # the sniff first: cheaper than parsing the Content-Type, and nearly always decisive
    if not media.is_json(resp.headers.get("Content-Type", "")):
        return
    info = dialect.error_document(body)
    if info is None:
        return
    cls = AuthenticationError if dialect.auth_endpoint else APIError
    raise _service_error(cls, resp, info, opts, path=path)


def printable_url(url: str) -> str:
    """Scheme, host and path: never the query (a presigned URL's signature) or user info."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))

"""The one exception hierarchy of eoclient.

Every error raised to a user derives from :class:`EOClientError`. Errors that
come from a service carry the HTTP status, the service's own error code and
message, the operation and the URL path, and never a secret: message text is
scrubbed of every credential and token the process knows about.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Self

from eoclient._redact import scrub, scrub_data

__all__ = [
    "APIError",
    "AuthError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ClientRateLimitError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "DownloadSizeError",
    "EOClientError",
    "ForeignHostError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobTimeoutError",
    "MissingOutputsError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ServerError",
    "StorageAccessError",
    "StorageConnectionError",
    "StorageError",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "TimeoutError",
    "TransportError",
    "UnexpectedContentError",
    "UnsafeRedirectError",
    "UnsupportedOperationError",
    "ValidationError",
]


class EOClientError(Exception):
    """Base class of every error eoclient raises.

    ``resource_id`` is set when the failed call had already created something
    (a batch request created before its analysis failed): the id to continue
    with or clean up. See :mod:`eoclient._outcome`.
    """

    resource_id: str | None = None

    def __init__(self, message: str) -> None:
        self.message = scrub(message)
        super().__init__(self.message)


class ConfigurationError(EOClientError):
    """Credentials, URLs or a config file are missing or malformed."""


class ValidationError(EOClientError, ValueError):
    """Input rejected on the client before anything was sent.

    ``field`` names the offending field as a dotted path (``output.width``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ClientClosedError(EOClientError, RuntimeError):
    """The client was used after ``aclose()`` or outside its ``async with`` block."""


class TransportError(EOClientError):
    """The request did not get an HTTP answer: connection refused, reset, dropped mid-body.

    ``cause_type`` names the underlying low-level exception (``"ClientOSError"``);
    the exception itself is not chained, because aiohttp's exceptions carry the
    request's headers, the bearer token among them. ``sent`` is False when the
    request provably never reached the service (no connection was made), True
    when it may have.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        method: str = "",
        path: str = "",
        cause_type: str = "",
        sent: bool = True,
    ) -> None:
        self.operation = operation
        self.method = method
        self.path = path
        self.cause_type = cause_type
        self.sent = sent
        where = " ".join(p for p in (operation, method, path) if p)
        super().__init__(f"{message} ({where})" if where else message)


class TimeoutError(TransportError, builtins.TimeoutError):
    """A connect, read or total timeout ran out before the service answered."""


class ResponseDecodeError(EOClientError):
    """The service answered 2xx but the body is not what its contract says."""

    def __init__(self, message: str, *, operation: str = "", path: str = "", status: int = 0) -> None:
        self.operation = operation
        self.path = path
        self.status = status
        super().__init__(f"{operation or 'response'} {path}: {message}")


class UnexpectedContentError(ResponseDecodeError):
    """A 2xx answer whose ``Content-Type`` is not what the request asked for.

    A proxy's HTML page, an error document sent with 200, or an image in
    another format than the one requested: the bytes are never returned as
    data, written under the final file name, or cached. ``expected`` lists the
    acceptable types, ``received`` is the answer's type (``""`` when it gave
    none) and ``excerpt`` the start of the body.
    """

    def __init__(
        self,
        *,
        expected: Collection[str],
        received: str,
        excerpt: str,
        operation: str = "",
        path: str = "",
        status: int = 200,
    ) -> None:
        self.expected = tuple(sorted(expected))
        self.received = received
        self.excerpt = scrub(excerpt)
        super().__init__(
            f"expected {' or '.join(self.expected)}, got {received or 'no Content-Type'} "
            f"(HTTP {status}); the body starts with {self.excerpt!r}",
            operation=operation,
            path=path,
            status=status,
        )


class ForeignHostError(EOClientError, ValueError):
    """A URL points away from the service's own host, so eoclient will not send credentials there.

    Raised for paging links and absolute URLs given to an authenticated call;
    ``url`` is the refused address (scheme, host and path only).
    """

    def __init__(self, url: str, *, expected: str, operation: str = "") -> None:
        self.url = url
        self.expected = expected
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}refusing to send credentials to {url}: not the service's host ({expected})")


class DownloadError(EOClientError):
    """Base class of errors about downloading files (integrity checks, bulk runs)."""


class DownloadSizeError(DownloadError, ResponseDecodeError):
    """A downloaded file does not have the size the service announced or reported for it.

    Nothing is left on disk, not even the ``.part`` file: its bytes cannot be
    trusted. ``expected`` and ``actual`` are in bytes.
    """

    def __init__(self, *, expected: int, actual: int, operation: str = "", path: str = "") -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"got {actual} bytes, the service reports {expected}", operation=operation, path=path
        )


class StorageError(EOClientError):
    """An object store (S3 or compatible) refused or failed a request.

    ``code`` and ``store_message`` are the store's own (``NoSuchKey``, ``SlowDown``...),
    ``status`` the HTTP status when there was one, ``bucket`` and ``key`` what
    was asked for. Never a credential: the text is scrubbed like every error's.
    """

    def __init__(
        self,
        message: str,
        *,
        bucket: str = "",
        key: str = "",
        code: str | None = None,
        store_message: str | None = None,
        status: int | None = None,
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.code = code
        self.store_message = scrub(store_message) if store_message else store_message
        self.status = status
        detail = " ".join(str(p) for p in (status, code) if p)
        if store_message:
            detail = f"{detail}: {store_message}" if detail else store_message
        where = f"s3://{bucket}/{key}" if bucket else key
        super().__init__(f"{message} [{where}]" + (f" ({detail})" if detail else ""))


class ObjectNotFoundError(StorageError):
    """The object (``NoSuchKey``) or its bucket (``NoSuchBucket``) does not exist."""


class ObjectExistsError(StorageError):
    """An upload without ``overwrite`` found another object (other content) under its key."""


class StorageAccessError(StorageError):
    """The store refused the credentials or the access (``AccessDenied``, ``InvalidAccessKeyId``)."""


class StorageConnectionError(StorageError, TransportError):
    """The connection to the store failed or dropped, after the library's retries; a download resumes it."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        StorageError.__init__(self, message, **kwargs)
        self.operation, self.method, self.path = "storage", "GET", kwargs.get("key", "")
        self.cause_type, self.sent = "", True


class APIError(EOClientError):
    """The service answered with an error status.

    Attributes: ``status`` (HTTP status), ``code`` (the service's own error
    code, e.g. ``RENDERER_EXCEPTION`` or ``NOT-AUTHORIZED``), ``service_message``
    (the service's text), ``operation`` (what eoclient was doing), ``method``,
    ``path`` (URL path, never the query with its possible secrets), ``details``
    (the service's structured error list, if any), ``retry_after`` (seconds the
    service asked to wait, if it said).
    """

    def __init__(
        self,
        *,
        status: int,
        code: str | None = None,
        service_message: str | None = None,
        operation: str = "",
        method: str = "",
        path: str = "",
        service: str = "",
        details: Any = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.service_message = scrub(service_message) if service_message else service_message
        self.operation = operation
        self.method = method
        self.path = path
        self.service = service
        self.details = scrub_data(details)
        self.retry_after = retry_after
        self.request_id = request_id
        head = f"{service + ' ' if service else ''}{operation or 'request'} failed: HTTP {status}"
        if code:
            head += f" {code}"
        if service_message:
            head += f": {service_message}"
        where = " ".join(p for p in (method, path) if p)
        if where:
            head += f" [{where}]"
        if request_id:
            head += f" (request id {request_id})"
        super().__init__(head)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_api_error, (type(self), self._state()))

    def replace(self, **changes: Any) -> Self:
        """A copy of this error with ``changes`` (keyword arguments of the constructor) applied."""
        return type(self)(**{**self._state(), **changes})

    def _state(self) -> Mapping[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "service_message": self.service_message,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "service": self.service,
            "details": self.details,
            "retry_after": self.retry_after,
            "request_id": self.request_id,
        }


def _rebuild_api_error(cls: type[APIError], state: Mapping[str, Any]) -> APIError:
    return cls(**state)


class UnsafeRedirectError(APIError):
    """The service answered with a redirect that eoclient does not follow.

    Redirects are followed only for reads without a body (GET, HEAD) and only
    on the service's own host; a redirect elsewhere, or one that would re-send
    a request body or credentials (token requests, POSTs), ends here.
    ``location`` is the target (scheme, host and path only).
    """

    def __init__(self, *, location: str, reason: str, **kwargs: Any) -> None:
        self.location = location
        self.reason = reason
        kwargs.setdefault("service_message", f"redirect to {location} not followed: {reason}")
        super().__init__(**kwargs)

    def _state(self) -> Mapping[str, Any]:
        return {**super()._state(), "location": self.location, "reason": self.reason}


class BadRequestError(APIError):
    """HTTP 400/422: the service rejected the request as invalid."""


class AuthError(APIError):
    """HTTP 401/403, or the token endpoint refused the credentials."""


class AuthenticationError(AuthError):
    """HTTP 401 (after one token refresh and replay), or a failed login."""


class PermissionDeniedError(AuthError):
    """HTTP 403: authenticated, but not allowed to do this."""


class NotFoundError(APIError):
    """HTTP 404."""


class ConflictError(APIError):
    """HTTP 409."""


class RateLimitError(APIError):
    """HTTP 429 after the retry policy gave up; ``retry_after`` says how long to wait."""


class ServerError(APIError):
    """HTTP 5xx after the retry policy gave up."""


class JobError(EOClientError):
    """Base class of errors about a long-running job.

    ``resume_token`` is the job's :attr:`~eoclient.jobs.Job.resume_token` (``None``
    when the error was not raised by a Job), so that a caller who timed out or was
    interrupted can re-attach with :func:`~eoclient.jobs.resume_job`.
    """

    report: Any = None
    """Raised by :meth:`~eoclient.jobs.Job.download`: the :class:`~eoclient.bulk.BulkReport` of that run."""

    def __init__(
        self, message: str, *, job_id: str = "", status: str | None = None, resume_token: str | None = None
    ) -> None:
        self.job_id = job_id
        self.status = status
        self.resume_token = resume_token
        super().__init__(message)


class JobFailedError(JobError):
    """The job ended FAILED (or was stopped by the service); ``error`` is the service's text."""

    def __init__(
        self, *, job_id: str, status: str, error: str | None = None, resume_token: str | None = None
    ) -> None:
        self.error = scrub(error) if error else error
        text = f"job {job_id} ended {status}"
        if error:
            text += f": {error}"
        super().__init__(text, job_id=job_id, status=status, resume_token=resume_token)


class JobCancelledError(JobError):
    """The job was cancelled (by this client or by someone else)."""


class JobTimeoutError(JobError, builtins.TimeoutError):
    """The job did not reach a terminal state before the deadline."""


class MissingOutputsError(JobError):
    """The job ended, but outputs it should have delivered were not in the store ``grace`` seconds later.

    ``missing`` names them (object keys, or what is known of them: a tile and an output).
    """

    def __init__(self, *, job_id: str, missing: list[str], grace: float) -> None:
        self.missing = list(missing)
        shown = ", ".join(self.missing[:5]) + (
            f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        )
        super().__init__(
            f"job {job_id} ended, but {len(self.missing)} of its outputs did not appear "
            f"in the store within {grace:g} s: {shown}",
            job_id=job_id,
        )


class UnsupportedOperationError(EOClientError, TypeError):
    """The object cannot do what was asked (e.g. ``outputs()`` of a job that delivers nothing to a store)."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def api_error_class(status: int) -> type[APIError]:
    """Map an HTTP status to the most specific :class:`APIError` subclass."""
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    return ServerError if status >= 500 else APIError


class OutcomeUnknownError(EOClientError):
    """A create (or an action) was sent, but its answer was lost: it may or may not have happened.

    Raised for a connection lost after the request was sent, a read timeout,
    or a 500/502/503/504 on a request eoclient must not send twice (a second
    one could make a second resource, or spend processing units or credits
    twice). Where the API allows it, eoclient first looked the resource up and
    did not find it unambiguously. The original error is ``__cause__``.

    Attributes: ``operation`` (what eoclient was doing), ``resource`` (what was
    being created, e.g. ``"batch request"``), ``how_to_find`` (where to look,
    or the field and value to search by), ``resource_id`` (its id when it is
    known, e.g. for an action on an existing request), ``candidates`` (ids of
    resources that may be it, when the lookup found several).
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        resource: str = "",
        how_to_find: str = "",
        resource_id: str | None = None,
        candidates: Sequence[str] = (),
    ) -> None:
        self.operation = operation
        self.resource = resource
        self.how_to_find = how_to_find
        self.resource_id = resource_id
        self.candidates = tuple(candidates)
        text = f"{operation}: {message}" if operation else message
        if candidates:
            text += f"; candidates: {', '.join(self.candidates)}"
        if how_to_find:
            text += f". {how_to_find}"
        super().__init__(text)


class ClientRateLimitError(RateLimitError):
    """The client's own rate limiter would hold a request longer than ``RateLimit.max_wait``.

    Nothing was sent. ``retry_after`` is the wait the limiter foresaw (seconds),
    ``status`` is 429 and ``code`` is ``"CLIENT_RATE_LIMIT"``, so a handler of
    :class:`RateLimitError` backs off from it like from the service's own 429.
    """

    def __init__(self, *, status: int = 429, code: str | None = "CLIENT_RATE_LIMIT", **kwargs: Any) -> None:
        super().__init__(status=status, code=code, **kwargs)
        # No HTTP exchange happened: the message says what the limiter did, not "failed: HTTP 429".
        text = self.service_message or "the client-side rate limiter refused to wait"
        if self.operation:
            text = f"{self.operation}: {text}"
        self.message = text
        self.args = (text,)

"""The S3 API subset the emulator serves from its own :class:`~eoclient.emulator.core.objects.ObjectStore`.

Path-style, on its own loopback port (``emu.s3_url``)::

    GET  /<bucket>?list-type=2&prefix=&delimiter=&continuation-token=&max-keys=&start-after=&encoding-type=url
         -> ListBucketResult (max-keys at most 1000, the default)
    GET  /<bucket>/<key>     -> the object; ``Range: bytes=a-b`` -> 206 + Content-Range, 416 unsatisfiable;
                                ``If-Match``/``If-None-Match`` -> 412/304
    HEAD /<bucket>/<key>     -> its headers (no body, also on errors)
    PUT  /<bucket>/<key>     -> stores the body (``aws-chunked`` uploads decoded); answers its ETag;
                                a conditional write (``If-None-Match: *``: only if absent; ``If-Match:
                                <etag>``: only over that version) -> 412 when it does not hold
    PUT  /<bucket>           -> CreateBucket

    POST   /<bucket>/<key>?uploads                    -> InitiateMultipartUploadResult (UploadId)
    PUT    /<bucket>/<key>?partNumber=N&uploadId=U    -> the part's ETag (its MD5); N in 1..10000
    POST   /<bucket>/<key>?uploadId=U                 -> CompleteMultipartUploadResult: the object
           appears now, its ETag S3's multipart one (``"<md5 of the parts' MD5s>-<N>"``); parts listed
           in ascending order (``InvalidPartOrder``), each sent with that ETag (``InvalidPart``), all
           but the last at least 5 MiB (``EntityTooSmall``); ``If-None-Match: *``/``If-Match`` as on PUT
    DELETE /<bucket>/<key>?uploadId=U                 -> 204 AbortMultipartUpload (the parts are gone)
    GET    /<bucket>?uploads&prefix=                  -> ListMultipartUploadsResult (all pending uploads)

Every request needs an AWS SigV4 ``Authorization`` header whose access key id
is the emulator's (``emu.credentials.s3_access_key``): without one 403
``AccessDenied``, with another 403 ``InvalidAccessKeyId``. The signature is
not checked. Errors are S3's XML documents (``NoSuchBucket``, ``NoSuchKey``,
``InvalidArgument``, ``InvalidRange``, ``SlowDown``, ``NoSuchUpload``, ...). Faults come from the
emulator's injector like on the other services (``service="s3"``): a 5xx is a
503 ``SlowDown``, ``drop`` cuts an object mid-body. Before answering, every
delivery due on the emulator's clock is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from eoclient.emulator.core.deliveries import deliveries_of, object_store
from eoclient.emulator.core.objects import ObjectStore, PendingUpload, StoredObject
from eoclient.emulator.core.refusal import Refusal, s3_shape
from eoclient.emulator.core.routing import add_route
from eoclient.emulator.core.state import EmulatorState, get_state

__all__ = ["auth_middleware", "object_store", "setup"]

MAX_KEYS: Final = 1000
_NS: Final = "http://s3.amazonaws.com/doc/2006-03-01/"
_CREDENTIAL_RE: Final = re.compile(r"Credential=([^/,\s]+)/")
_RANGE_RE: Final = re.compile(r"^bytes=(\d*)-(\d*)$")
MIN_PART_SIZE: Final = 5 * 1024 * 1024
MAX_METADATA: Final = 2048  # S3's limit on the user metadata of one object (names and values, bytes)
_META: Final = "x-amz-meta-"
"""S3's smallest part, but for the last."""
MAX_PART_NUMBER: Final = 10_000
_LIST_QUERY: Final = (
    "list-type",
    "prefix",
    "delimiter",
    "continuation-token",
    "max-keys",
    "start-after",
    "encoding-type",
    "fetch-owner",
)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a SigV4 ``Authorization`` header with the emulator's access key id (signature not checked)."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    if request.path.startswith("/_emulator/"):
        return await handler(request)
    match = _CREDENTIAL_RE.search(header) if header.startswith("AWS4-HMAC-SHA256 ") else None
    if match is None:
        return s3_shape(Refusal(403, "AccessDenied", "Access Denied"))
    if match.group(1) != get_state(request).credentials.s3_access_key:
        message = "The AWS Access Key Id you provided does not exist in our records."
        return s3_shape(Refusal(403, "InvalidAccessKeyId", message))
    return await handler(request)


def _store(request: web.Request) -> ObjectStore:
    state = get_state(request)
    deliveries_of(state).flush_local()
    return object_store(state)


def _bucket(request: web.Request, store: ObjectStore) -> str:
    name = request.match_info["bucket"]
    if name not in store.buckets:
        raise Refusal(404, "NoSuchBucket", "The specified bucket does not exist")
    return name


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(epoch), UTC), usegmt=True)


def _max_keys(raw: str | None) -> int:
    if raw is None:
        return MAX_KEYS
    if not raw.isascii() or not raw.isdigit():
        raise Refusal(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
    return min(int(raw), MAX_KEYS)


def _token(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return base64.urlsafe_b64decode(raw.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error):
        raise Refusal(400, "InvalidArgument", "The continuation token provided is incorrect") from None


def _text(name: str, value: str | int | None, url: bool = False) -> str:
    if value is None:
        return ""
    shown = quote(value, safe="/~") if url and isinstance(value, str) else str(value)
    return f"<{name}>{escape(shown)}</{name}>"


async def _list(request: web.Request) -> web.Response:
    store = _store(request)
    bucket = _bucket(request, store)
    q = request.query
    if q.get("list-type") != "2":
        raise Refusal(400, "InvalidArgument", "the emulator serves ListObjectsV2 only: send list-type=2")
    url = q.get("encoding-type") == "url"
    if "encoding-type" in q and not url:
        raise Refusal(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter") or None
    max_keys = _max_keys(q.get("max-keys"))
    token = _token(q.get("continuation-token"))
    after = max(token or "", q.get("start-after", ""))
    contents: list[StoredObject] = []
    prefixes: list[str] = []
    truncated, last = False, ""
    for obj in store.list(bucket, prefix, after):
        common = None
        if delimiter is not None:
            cut = obj.key.find(delimiter, len(prefix))
            common = obj.key[: cut + len(delimiter)] if cut >= 0 else None
        if common is not None and prefixes and prefixes[-1] == common:
            continue
        if len(contents) + len(prefixes) >= max_keys:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
            last = common + "\U0010ffff"  # the next page starts after every key under it
        else:
            contents.append(obj)
            last = obj.key
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<ListBucketResult xmlns="{_NS}">',
        _text("Name", bucket),
        _text("Prefix", prefix, url),
        _text("Delimiter", delimiter, url),
        _text("MaxKeys", max_keys),
        _text("KeyCount", len(contents) + len(prefixes)),
        _text("IsTruncated", "true" if truncated else "false"),
        _text("EncodingType", "url" if url else None),
        _text("ContinuationToken", q.get("continuation-token")),
        _text("StartAfter", q.get("start-after"), url),
    ]
    if truncated:
        parts.append(_text("NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode("ascii")))
    for obj in contents:
        parts.append(
            "<Contents>"
            + _text("Key", obj.key, url)
            + _text("LastModified", _iso(obj.last_modified))
            + _text("ETag", obj.etag)
            + _text("Size", obj.size)
            + "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    parts.extend(f"<CommonPrefixes>{_text('Prefix', p, url)}</CommonPrefixes>" for p in prefixes)
    parts.append("</ListBucketResult>")
    return web.Response(text="".join(parts), content_type="application/xml")


def _object(request: web.Request) -> StoredObject:
    store = _store(request)
    bucket = _bucket(request, store)
    key = request.match_info["key"]
    obj = store.get(bucket, key)
    if obj is None:
        raise Refusal(404, "NoSuchKey", "The specified key does not exist.")
    return obj


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a single ``bytes=`` range; ``None`` for the whole object."""
    if header is None:
        return None
    match = _RANGE_RE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None  # S3 ignores what it cannot parse (and multiple ranges)
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
        if int(last) == 0:
            start = size
    else:
        start, end = int(first), size - 1 if last == "" else min(int(last), size - 1)
        if last != "" and int(last) < start:
            return None
    if start >= size:
        raise Refusal(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
            headers={hdrs.CONTENT_RANGE: f"bytes */{size}"},
        )
    return start, end


async def _get(request: web.Request) -> web.Response:
    obj = _object(request)
    headers = {
        hdrs.ETAG: obj.etag,
        hdrs.LAST_MODIFIED: _http_date(obj.last_modified),
        hdrs.ACCEPT_RANGES: "bytes",
        **{_META + name: value for name, value in obj.metadata.items()},
    }
    if_match, if_none = request.headers.get(hdrs.IF_MATCH), request.headers.get(hdrs.IF_NONE_MATCH)
    if if_match is not None and if_match.strip() not in (obj.etag, "*"):
        raise Refusal(
            412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
        )
    if if_none is not None and if_none.strip() in (obj.etag, "*"):
        return web.Response(status=304, headers=headers)
    body = obj.body
    span = _range(request.headers.get(hdrs.RANGE), len(body))
    if span is None:
        return web.Response(body=body, content_type=obj.content_type, headers=headers)
    start, end = span
    headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end}/{len(body)}"
    return web.Response(
        status=206, body=body[start : end + 1], content_type=obj.content_type, headers=headers
    )


def _aws_chunked(data: bytes) -> bytes:
    """The payload of an ``aws-chunked`` upload (chunk signatures and trailers dropped)."""
    out, i = bytearray(), 0
    while True:
        eol = data.find(b"\r\n", i)
        if eol < 0:
            raise Refusal(400, "IncompleteBody", "The request body terminated unexpectedly")
        try:
            size = int(data[i:eol].split(b";")[0], 16)
        except ValueError:
            raise Refusal(400, "InvalidArgument", "malformed aws-chunked body") from None
        if size == 0:
            return bytes(out)
        out += data[eol + 2 : eol + 2 + size]
        i = eol + 2 + size + 2


def _check_write(request: web.Request, current: StoredObject | None) -> None:
    """S3's conditional writes: ``If-None-Match: *`` creates only, ``If-Match`` replaces only that ETag."""
    if_match, if_none = request.headers.get(hdrs.IF_MATCH), request.headers.get(hdrs.IF_NONE_MATCH)
    if if_none is not None and if_none.strip() != "*":
        raise Refusal(
            501, "NotImplemented", "A header you provided implies functionality that is not implemented"
        )
    if if_match is not None and current is None:
        raise Refusal(404, "NoSuchKey", "The specified key does not exist.")
    if (if_none is not None and current is not None) or (
        if_match is not None and current is not None and if_match.strip() not in (current.etag, "*")
    ):
        raise Refusal(
            412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"
        )


async def _payload(request: web.Request) -> bytes:
    """The uploaded bytes (an ``aws-chunked`` body decoded)."""
    data = await request.read()
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "")
    if "aws-chunked" in encoding or request.headers.get("x-amz-content-sha256", "").startswith("STREAMING-"):
        data = _aws_chunked(data)
    return data


def _metadata(request: web.Request) -> dict[str, str]:
    """The request's user metadata (``x-amz-meta-*``), names lower case; S3's 2 KB limit enforced."""
    found = {
        name.lower()[len(_META) :]: value
        for name, value in request.headers.items()
        if name.lower().startswith(_META)
    }
    if sum(len(name.encode()) + len(value.encode()) for name, value in found.items()) > MAX_METADATA:
        raise Refusal(
            400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size."
        )
    return found


async def _put(request: web.Request) -> web.Response:
    store = _store(request)
    bucket = _bucket(request, store)
    data = await _payload(request)
    media = request.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
    metadata = _metadata(request)
    _check_write(request, store.get(bucket, request.match_info["key"]))
    obj = store.put(bucket, request.match_info["key"], data, content_type=media, metadata=metadata)
    return web.Response(headers={hdrs.ETAG: obj.etag})


async def _create_bucket(request: web.Request) -> web.Response:
    store = _store(request)
    name = request.match_info["bucket"]
    if name in store.buckets:
        raise Refusal(
            409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded"
        )
    await request.read()
    store.create_bucket(name)
    return web.Response(headers={hdrs.LOCATION: f"/{name}"})


def _xml(root: str, *fields: str) -> web.Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_NS}">{"".join(fields)}</{root}>'
    return web.Response(text=body, content_type="application/xml")


def _upload(request: web.Request, store: ObjectStore) -> PendingUpload:
    bucket = _bucket(request, store)
    upload = store.pending_upload(request.query["uploadId"], bucket, request.match_info["key"])
    if upload is None:
        message = (
            "The specified upload does not exist. The upload ID may be invalid,"
            " or the upload may have been aborted or completed."
        )
        raise Refusal(404, "NoSuchUpload", message)
    return upload


async def _initiate(request: web.Request) -> web.Response:
    store = _store(request)
    bucket = _bucket(request, store)
    await request.read()
    media = request.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
    metadata = _metadata(request)
    upload = store.start_upload(bucket, request.match_info["key"], content_type=media, metadata=metadata)
    fields = (_text("Bucket", bucket), _text("Key", upload.key), _text("UploadId", upload.upload_id))
    return _xml("InitiateMultipartUploadResult", *fields)


def _part_number(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise Refusal(
            400,
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
        )
    return int(raw)


async def _upload_part(request: web.Request) -> web.Response:
    store = _store(request)
    data = await _payload(request)
    number = _part_number(request.query["partNumber"])
    upload = _upload(request, store)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    upload.parts[number] = (data, md5)
    return web.Response(headers={hdrs.ETAG: f'"{md5}"'})


def _listed_parts(body: bytes) -> list[tuple[int, str]]:
    """``(PartNumber, ETag without quotes)`` of a ``CompleteMultipartUpload`` document, in its order."""
    malformed = Refusal(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    if b"<!" in body:  # no DTD (S3 takes none), so no entity can expand
        raise malformed
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 (no DTD, checked above)
    except ElementTree.ParseError:
        raise malformed from None
    if root.tag.rpartition("}")[2] != "CompleteMultipartUpload":
        raise malformed
    listed: list[tuple[int, str]] = []
    for part in root:
        fields = {child.tag.rpartition("}")[2]: (child.text or "").strip() for child in part}
        if part.tag.rpartition("}")[2] != "Part" or "PartNumber" not in fields or "ETag" not in fields:
            raise malformed
        listed.append((_part_number(fields["PartNumber"]), fields["ETag"].strip('"')))
    if not listed:
        raise malformed
    return listed


async def _complete(request: web.Request) -> web.Response:
    store = _store(request)
    body = await request.read()
    upload = _upload(request, store)
    listed = _listed_parts(body)
    _check_write(request, store.get(upload.bucket, upload.key))
    numbers = [n for n, _ in listed]
    if any(a >= b for a, b in itertools.pairwise(numbers)):
        message = (
            "The list of parts was not in ascending order. The parts list must be specified in order"
            " by part number."
        )
        raise Refusal(400, "InvalidPartOrder", message)
    for number, etag in listed:
        sent = upload.parts.get(number)
        if sent is None or sent[1] != etag.lower():
            message = (
                "One or more of the specified parts could not be found. The part may not have been"
                " uploaded, or the specified entity tag may not match the part's entity tag."
            )
            raise Refusal(400, "InvalidPart", message)
    if any(len(upload.parts[n][0]) < MIN_PART_SIZE for n in numbers[:-1]):
        raise Refusal(
            400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size."
        )
    obj = store.complete_upload(upload, numbers)
    location = f"{request.url.origin()}/{quote(upload.bucket)}/{quote(upload.key)}"
    return _xml(
        "CompleteMultipartUploadResult",
        _text("Location", location),
        _text("Bucket", upload.bucket),
        _text("Key", upload.key),
        _text("ETag", obj.etag),
    )


async def _abort(request: web.Request) -> web.Response:
    store = _store(request)
    await request.read()
    store.abort_upload(_upload(request, store))
    return web.Response(status=204)


async def _list_uploads(request: web.Request) -> web.Response:
    store = _store(request)
    bucket = _bucket(request, store)
    prefix = request.query.get("prefix", "")
    uploads = [u for u in store.pending_uploads(bucket) if u.key.startswith(prefix)]
    parts = [
        _text("Bucket", bucket),
        "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>",
        _text("Prefix", prefix),
        _text("MaxUploads", MAX_KEYS),
        "<IsTruncated>false</IsTruncated>",
    ]
    parts.extend(
        "<Upload>"
        + _text("Key", u.key)
        + _text("UploadId", u.upload_id)
        + "<StorageClass>STANDARD</StorageClass>"
        + _text("Initiated", _iso(u.initiated))
        + "</Upload>"
        for u in uploads
    )
    return _xml("ListMultipartUploadsResult", *parts)


def setup(app: web.Application, state: EmulatorState) -> None:
    """Add the S3 routes to the object store's app."""
    object_store(state)
    add_route(app, "GET", "/{bucket}", _list, query=_LIST_QUERY, shape=s3_shape)
    add_route(app, "PUT", "/{bucket}", _create_bucket, shape=s3_shape)
    add_route(app, "GET", "/{bucket}/{key:.+}", _get, query=("x-id",), shape=s3_shape)
    add_route(app, "PUT", "/{bucket}/{key:.+}", _put, query=("x-id",), shape=s3_shape)
    # multipart uploads: the same paths, told apart by a query key as S3 does
    add_route(app, "GET", "/{bucket}", _list_uploads, query=("prefix",), select="uploads", shape=s3_shape)
    add_route(
        app,
        "PUT",
        "/{bucket}/{key:.+}",
        _upload_part,
        query=("x-id",),
        required_query=("partNumber",),
        select="uploadId",
        shape=s3_shape,
    )
    add_route(app, "POST", "/{bucket}/{key:.+}", _initiate, query=("x-id",), select="uploads", shape=s3_shape)
    add_route(
        app, "POST", "/{bucket}/{key:.+}", _complete, query=("x-id",), select="uploadId", shape=s3_shape
    )
    add_route(app, "DELETE", "/{bucket}/{key:.+}", _abort, query=("x-id",), select="uploadId", shape=s3_shape)

"""Splitting multi-response Process answers (tar and multipart/mixed) into parts by identifier."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from eoclient.errors import ResponseDecodeError
from eoclient.sentinelhub.multipart import (
    content_type_for,
    identifier_for,
    parse_multipart,
    parse_tar,
    split_response,
)

TIFF = b"II*\x00" + bytes(range(256)) * 8
USERDATA = json.dumps({"norm": 0.5}).encode()


def make_tar(members: dict[str, bytes], *, with_dir: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        if with_dir:
            info = tarfile.TarInfo("results")
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_tar_members_map_to_identifiers() -> None:
    body = make_tar({"default.tif": TIFF, "userdata.json": USERDATA}, with_dir=True)
    parts = parse_tar(body, ["default", "userdata"])
    assert set(parts) == {"default", "userdata"}
    assert parts["default"].content == TIFF
    assert parts["default"].content_type == "image/tiff"
    assert parts["default"].filename == "default.tif"
    assert parts["userdata"].json() == {"norm": 0.5}
    assert parts["userdata"].content_type == "application/json"


def test_identifiers_with_dots_and_folders() -> None:
    body = make_tar({"out/ndvi.v2.png": b"\x89PNG....", "misc.bin": b"x"})
    parts = parse_tar(body, ["ndvi.v2"])
    assert parts["ndvi.v2"].content_type == "image/png"
    assert parts["misc"].content_type == "application/octet-stream"  # unknown extension, stem as name


@pytest.mark.parametrize(
    ("name", "identifiers", "expected"),
    [
        ("default.tif", [], "default"),
        ("default.tif", ["default"], "default"),
        ("a.b.tiff", ["a", "a.b"], "a.b"),
        ("userdata.json", ["default"], "userdata"),
        ("noext", [], "noext"),
    ],
)
def test_identifier_for(name: str, identifiers: list[str], expected: str) -> None:
    assert identifier_for(name, identifiers) == expected


def test_content_type_for() -> None:
    assert content_type_for("x.TIF") == "image/tiff"
    assert content_type_for("x.jpeg") == "image/jpeg"
    assert content_type_for("x") == "application/octet-stream"


def test_broken_tar_is_a_decode_error() -> None:
    body = make_tar({"default.tif": TIFF})
    with pytest.raises(ResponseDecodeError):
        parse_tar(body[:700])  # header complete, content cut short
    with pytest.raises(ResponseDecodeError):
        parse_tar(b"not a tar at all" * 64)


def multipart(parts: list[tuple[dict[str, str], bytes]], boundary: str = "BOUNDARY") -> bytes:
    out = b""
    for headers, data in parts:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out += f"--{boundary}\r\n{head}\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_multipart_parts_by_disposition_name() -> None:
    body = multipart(
        [
            ({"Content-Type": "image/tiff", "Content-Disposition": 'inline; name="default"'}, TIFF),
            (
                {
                    "Content-Type": "application/json",
                    "Content-Disposition": 'form-data; filename="userdata.json"',
                },
                USERDATA,
            ),
        ]
    )
    parts = parse_multipart(body, 'multipart/mixed; boundary="BOUNDARY"', ["default", "userdata"])
    assert parts["default"].content == TIFF
    assert parts["default"].content_type == "image/tiff"
    assert parts["userdata"].json() == {"norm": 0.5}
    assert parts["userdata"].filename == "userdata.json"


def test_multipart_unnamed_parts_follow_the_requested_order() -> None:
    body = multipart([({"Content-Type": "image/png"}, b"\x89PNG1"), ({}, USERDATA)], boundary="b-1")
    parts = parse_multipart(body, "multipart/mixed; boundary=b-1", ["first", "second"])
    assert parts["first"].content == b"\x89PNG1"
    assert parts["second"].content == USERDATA
    assert parts["second"].content_type == "application/octet-stream"


def test_multipart_errors() -> None:
    body = multipart([({"Content-Type": "image/png"}, b"data")])
    with pytest.raises(ResponseDecodeError, match="boundary"):
        parse_multipart(body, "multipart/mixed")
    with pytest.raises(ResponseDecodeError, match="closing boundary"):
        parse_multipart(body[:-20], "multipart/mixed; boundary=BOUNDARY")
    with pytest.raises(ResponseDecodeError, match="without any part"):
        parse_multipart(b"nothing here", "multipart/mixed; boundary=BOUNDARY")


def test_split_response_dispatches_on_media_type() -> None:
    single = split_response(TIFF, "image/tiff", ["default"])
    assert single["default"].content == TIFF
    assert single["default"].content_type == "image/tiff"
    tar = split_response(make_tar({"default.tif": TIFF}), "application/x-tar", ["default"])
    assert tar["default"].content == TIFF
    mixed = split_response(
        multipart([({"Content-Disposition": 'inline; name="default"'}, TIFF)]),
        "multipart/mixed; boundary=BOUNDARY",
        ["default"],
    )
    assert mixed["default"].content == TIFF

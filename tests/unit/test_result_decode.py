"""Process results and their parts: a body that is not what it claims is a ResponseDecodeError.

``.json()`` on something that is not JSON (or not UTF-8), a tar cut short, a
multipart part whose ``Content-Length`` disagrees with it, or a multipart body
without its closing boundary never come back as data.
"""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from eoclient.errors import ResponseDecodeError
from eoclient.sentinelhub.multipart import ResponsePart, parse_multipart, parse_tar
from eoclient.sentinelhub.process_models import ProcessResult

TIFF = b"II*\x00" + bytes(range(256)) * 8
USERDATA = json.dumps({"norm": 0.5}).encode()
MIXED = "multipart/mixed; boundary=BOUNDARY"

NOT_JSON = [
    pytest.param(b"<html><body>Bad gateway</body></html>", id="html"),
    pytest.param(b"\xff\xfe{\x00}\x00", id="utf16-bom"),
    pytest.param(b'{"name": "\xc3\x28"}', id="invalid-utf8"),
    pytest.param(TIFF, id="binary"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"norm": 0.5', id="cut-short"),
]


def _result(content: bytes) -> ProcessResult:
    return ProcessResult(
        content=content,
        content_type="application/json",
        processing_units=None,
        headers={},
        parts={"default": ResponsePart("default", content, "application/json")},
    )


@pytest.mark.parametrize("content", NOT_JSON)
def test_result_json_of_a_body_that_is_not_json(content: bytes) -> None:
    with pytest.raises(ResponseDecodeError, match="not JSON") as info:
        _result(content).json()
    assert info.value.operation == "process"


@pytest.mark.parametrize("content", NOT_JSON)
def test_part_json_of_content_that_is_not_json_names_the_part(content: bytes) -> None:
    part = ResponsePart("userdata", content, "application/json", "userdata.json")
    with pytest.raises(ResponseDecodeError, match="part 'userdata' is not JSON"):
        part.json()


def test_json_still_decodes_json() -> None:
    assert _result(USERDATA).json() == {"norm": 0.5}
    assert ResponsePart("userdata", USERDATA, "application/json").json() == {"norm": 0.5}


# -- tar -------------------------------------------------------------------------------------


def make_tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


TAR = make_tar({"default.tif": TIFF, "userdata.json": USERDATA})
# Offsets in TAR: each member is a 512-byte header, then its data padded to 512 bytes.
SECOND_HEADER = 512 + 2560  # default.tif's header and its 2052 bytes padded
SECOND_DATA = SECOND_HEADER + 512
END_BLOCKS = SECOND_DATA + 512  # userdata.json's 13 bytes padded: the two zero blocks follow


def test_offsets_of_the_sample_archive() -> None:
    assert TAR[SECOND_HEADER:].startswith(b"userdata.json")
    assert TAR[SECOND_DATA:].startswith(USERDATA)
    assert TAR[END_BLOCKS : END_BLOCKS + 1024] == bytes(1024)


@pytest.mark.parametrize(
    ("cut", "member"),
    [
        pytest.param(SECOND_DATA + 5, "userdata.json", id="in-the-last-member"),
        pytest.param(SECOND_DATA + 13, "userdata.json", id="in-the-last-member-padding"),
        pytest.param(END_BLOCKS, "userdata.json", id="without-end-blocks"),
        pytest.param(END_BLOCKS + 512, "userdata.json", id="with-one-end-block"),
        pytest.param(SECOND_HEADER + 100, "default.tif", id="in-the-next-header"),
        pytest.param(SECOND_HEADER, "default.tif", id="before-the-next-header"),
        pytest.param(700, "default.tif", id="in-the-first-member"),
    ],
)
def test_a_tar_cut_short_names_the_member(cut: int, member: str) -> None:
    with pytest.raises(ResponseDecodeError, match=f"cut short .*{member!r}"):
        parse_tar(TAR[:cut], ["default", "userdata"])


def test_a_tar_with_a_garbled_header_after_a_member_is_refused() -> None:
    garbled = TAR[:SECOND_HEADER] + b"\x01" * 512 + TAR[SECOND_HEADER + 512 :]
    with pytest.raises(ResponseDecodeError, match=r"'default\.tif'"):
        parse_tar(garbled)


def test_every_cut_of_a_tar_is_refused_or_loses_nothing() -> None:
    whole = {k: p.content for k, p in parse_tar(TAR).items()}
    for cut in range(0, len(TAR), 7):
        try:
            parts = parse_tar(TAR[:cut])
        except ResponseDecodeError:
            continue
        # Only the zero padding after the end-of-archive blocks may go missing.
        assert cut >= END_BLOCKS + 1024, cut
        assert {k: p.content for k, p in parts.items()} == whole


def test_the_end_of_archive_blocks_suffice() -> None:
    parts = parse_tar(TAR[: END_BLOCKS + 1024], ["default", "userdata"])
    assert parts["default"].content == TIFF
    assert parts["userdata"].json() == {"norm": 0.5}


# -- multipart -------------------------------------------------------------------------------


def multipart(parts: list[tuple[dict[str, str], bytes]], *, close: bool = True) -> bytes:
    out = b""
    for headers, data in parts:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out += f"--BOUNDARY\r\n{head}\r\n".encode() + data + b"\r\n"
    return out + (b"--BOUNDARY--\r\n" if close else b"")


def _named(name: str, length: int | str | None = None) -> dict[str, str]:
    headers = {"Content-Disposition": f'inline; name="{name}"'}
    if length is not None:
        headers["Content-Length"] = str(length)
    return headers


def test_content_length_that_matches_is_fine() -> None:
    body = multipart([(_named("default", len(TIFF)), TIFF), (_named("userdata", len(USERDATA)), USERDATA)])
    parts = parse_multipart(body, MIXED)
    assert parts["default"].content == TIFF
    assert parts["userdata"].json() == {"norm": 0.5}


@pytest.mark.parametrize("length", [len(TIFF) + 10, len(TIFF) - 1, 0])
def test_a_part_shorter_or_longer_than_its_content_length(length: int) -> None:
    body = multipart([(_named("default", length), TIFF), (_named("userdata"), USERDATA)])
    with pytest.raises(ResponseDecodeError, match=f"part 'default' holds {len(TIFF)} bytes.*says {length}"):
        parse_multipart(body, MIXED)


@pytest.mark.parametrize("length", ["lots", "-1", f"+{len(TIFF)}", "2_052"])
def test_an_invalid_content_length(length: str) -> None:
    body = multipart([(_named("default", length), TIFF)])
    with pytest.raises(ResponseDecodeError, match="'default' has an invalid Content-Length"):
        parse_multipart(body, MIXED)


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"", id="no-closing-delimiter"),
        pytest.param(b"--BOUNDARY", id="delimiter-without-dashes"),
        pytest.param(b"--BOUNDARY\r\n", id="delimiter-line-without-part"),
        pytest.param(b"--BOUNDARY-", id="one-dash"),
    ],
)
def test_a_body_without_its_closing_boundary(tail: bytes) -> None:
    body = multipart([(_named("default"), TIFF)], close=False) + tail
    with pytest.raises(ResponseDecodeError, match="closing boundary"):
        parse_multipart(body, MIXED)


def test_a_boundary_lookalike_inside_a_part_is_data() -> None:
    data = b"line one\r\n--BOUNDARY-is-not-the-boundary\r\nline three"
    body = multipart([(_named("default"), data), (_named("userdata"), USERDATA)])
    parts = parse_multipart(body, MIXED)
    assert parts["default"].content == data
    assert parts["userdata"].content == USERDATA


def test_every_cut_of_a_multipart_body_is_refused_or_loses_nothing() -> None:
    body = multipart([(_named("default", len(TIFF)), TIFF), (_named("userdata"), USERDATA)])
    whole = {k: p.content for k, p in parse_multipart(body, MIXED).items()}
    for cut in range(0, len(body), 5):
        try:
            parts = parse_multipart(body[:cut], MIXED)
        except ResponseDecodeError:
            continue
        assert {k: p.content for k, p in parts.items()} == whole

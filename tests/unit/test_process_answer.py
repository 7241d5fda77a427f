"""A Process answer made into its result: one part, an archive, and an archive too large for the loop."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from eoclient._http.stages import Later
from eoclient.errors import ResponseDecodeError
from eoclient.sentinelhub import process as process_module
from eoclient.sentinelhub.prepared import prepare_process
from eoclient.sentinelhub.process_models import ProcessResult
from tests.unit.test_multipart import TIFF, USERDATA, make_tar

BBOX = {"bbox": [13.0, 45.0, 14.0, 46.0]}


def _request(*identifiers: str) -> dict[str, object]:
    formats = {"default": "image/tiff", "userdata": "application/json"}
    return {
        "input": {"bounds": BBOX, "data": [{"type": "sentinel-2-l2a"}]},
        "output": {
            "width": 8,
            "height": 8,
            "responses": [{"identifier": i, "format": {"type": formats[i]}} for i in identifiers],
        },
        "evalscript": "//VERSION=3",
    }


def _headers(content_type: str, units: str = "1.5") -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict({"Content-Type": content_type, "x-processingunits-spent": units}))


async def _result(headers: CIMultiDictProxy[str], body: bytes, *identifiers: str) -> ProcessResult:
    prepared = prepare_process(_request(*identifiers))
    made = process_module._answered(headers, body, "/api/v1/process", prepared)
    if isinstance(made, ProcessResult):
        return made
    assert isinstance(made, Later)  # split in a thread: the transport awaits it
    return await made.awaitable


async def test_a_single_answer_is_its_one_part() -> None:
    result = await _result(_headers("image/tiff; charset=binary"), TIFF, "default")
    assert result.content_type == "image/tiff" and result.processing_units == 1.5
    assert list(result.parts) == ["default"] and result["default"].content == TIFF
    assert result.georef is not None and result.georef.width == 8


@pytest.mark.parametrize("large", [False, True])
async def test_an_archive_is_split_and_checked_on_or_off_the_loop(
    large: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if large:  # any archive counts as large: split in a thread, as a body of over 4 MiB is
        monkeypatch.setattr(process_module, "_THREAD_SPLIT", 0)
    body = make_tar({"default.tif": TIFF, "userdata.json": USERDATA})
    prepared = prepare_process(_request("default", "userdata"))
    made = process_module._answered(_headers("application/x-tar"), body, "/p", prepared)
    assert isinstance(made, ProcessResult) is not large
    if isinstance(made, Later):
        assert (await made.awaitable)["default"].content == TIFF
    result = await _result(_headers("application/x-tar"), body, "default", "userdata")
    assert result["default"].content == TIFF and result["userdata"].json() == {"norm": 0.5}
    with pytest.raises(ResponseDecodeError, match="no part 'userdata'"):
        await _result(_headers("application/x-tar"), make_tar({"default.tif": TIFF}), "default", "userdata")


async def test_one_part_where_two_were_asked_for_is_refused() -> None:
    with pytest.raises(ResponseDecodeError, match="no part 'userdata'"):
        await _result(_headers("image/tiff"), TIFF, "default", "userdata")


def test_positional_maker_makes_what_the_dataclass_makes() -> None:
    import dataclasses

    from eoclient.sentinelhub.prepared import PreparedProcess, prepare_process
    from eoclient.sentinelhub.process_models import positional_maker

    made = positional_maker(ProcessResult)(b"x", "image/tiff", 1.0, {}, {}, None, None)
    assert made == ProcessResult(b"x", "image/tiff", 1.0, {}, {}, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.content = b"y"  # type: ignore[misc]
    # Inherited fields too (PreparedProcess's body is PreparedRequest's).
    prepared = prepare_process(_request("default"))
    values = [getattr(prepared, f.name) for f in dataclasses.fields(PreparedProcess)]
    assert positional_maker(PreparedProcess)(*values) == prepared

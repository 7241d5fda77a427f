"""CSV of Datacube products: records split across arbitrary chunks, the reference's samples."""

from __future__ import annotations

import csv
import io

import pytest

from eoclient.errors import ResponseDecodeError
from eoclient.spaceknow.datacube import CsvRecords, _csv_text, parse_csv

REFERENCE_PRODUCT = (
    "value_dt,delivery_dt,col A,col B\n 2020-09-17 08:41:17 UTC,2020-09-18 08:41:44 UTC,0.3,0.2\n "
    "2020-09-17 08:43:24 UTC,2020-09-18 08:43:25 UTC,,0.3"
)
REFERENCE_DICTIONARY = (
    '\n "column_id", "topic", "type_of_index", "region", "frequency", "rolling", "value_type", "units"\n '
    '"SK_X_30d_normal_activity_level", "Transport", "ASI - normal", "United States", "weekly", "30d", '
    '"activity", "%"\n '
)


def test_reference_product_sample() -> None:
    rows = parse_csv(REFERENCE_PRODUCT)
    assert rows == [
        {"value_dt": "2020-09-17 08:41:17 UTC", "delivery_dt": "2020-09-18 08:41:44 UTC", "col A": "0.3",
         "col B": "0.2"},
        {"value_dt": "2020-09-17 08:43:24 UTC", "delivery_dt": "2020-09-18 08:43:25 UTC", "col A": "",
         "col B": "0.3"},
    ]  # fmt: skip


def test_reference_data_dictionary_sample() -> None:
    rows = parse_csv(REFERENCE_DICTIONARY)
    assert rows == [
        {
            "column_id": "SK_X_30d_normal_activity_level",
            "topic": "Transport",
            "type_of_index": "ASI - normal",
            "region": "United States",
            "frequency": "weekly",
            "rolling": "30d",
            "value_type": "activity",
            "units": "%",
        }
    ]


def tricky_csv() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["a", "b,c", 'say "hi"'])
    writer.writerow(["1", "two\nlines", 'quote "" and, comma'])
    writer.writerow(["é", "", "\r\nleading break"])
    writer.writerow(["3", "4", "5"])
    return buffer.getvalue()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_records_survive_any_chunking(size: int) -> None:
    text = tricky_csv()
    data = text.encode("utf-8")  # "é" is two bytes: chunks split it too
    splitter = CsvRecords()
    records: list[str] = []
    for i in range(0, len(data), size):
        records.extend(splitter.feed(data[i : i + size]))
    records.extend(splitter.close())
    expected = list(csv.reader(io.StringIO(text, newline="")))
    assert [next(csv.reader([r])) for r in records] == expected


def test_parse_matches_csv_module() -> None:
    text = tricky_csv()
    assert parse_csv(text) == list(csv.DictReader(io.StringIO(text, newline="")))


def test_no_trailing_newline_and_blank_lines() -> None:
    assert parse_csv("\n\nx,y\n\n1,2\n\n3,4") == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]
    assert parse_csv("") == []
    assert parse_csv("\ufeffx,y\n1,2\n") == [{"x": "1", "y": "2"}]


def test_ragged_rows_are_reported() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        parse_csv("x,y\n1,2,3\n", operation="datacube.product-csv")
    assert "record 2" in str(info.value)


def test_json_string_answers_are_unwrapped() -> None:
    assert _csv_text(b'"x,y\\n1,2"', "application/json", "", operation="o", path="/p") == "x,y\n1,2"
    assert (
        _csv_text(
            "x\n\xe9".encode("latin-1"), "text/csv", "text/csv; charset=latin-1", operation="o", path="/p"
        )
        == "x\né"
    )
    with pytest.raises(ResponseDecodeError):
        _csv_text(b"[1]", "application/json", "", operation="o", path="/p")

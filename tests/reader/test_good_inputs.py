"""Files agencies really send are read as exactly the text they typed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.reader import read_intake
from connectors.xlsx import cell_text
from hmis_handoff.errors import FileRejected
from tests.reader.helpers import (
    COLUMNS,
    NAMES,
    csv_text,
    good_rows,
    header_map,
    rewrite_zip,
    save_workbook,
)

ENCODED = [
    ("utf-8", ",", "\r\n", "utf-8", ","),
    ("utf-8-sig", ",", "\r\n", "utf-8-sig", ","),
    ("cp1252", ",", "\r\n", "cp1252", ","),
    ("utf-16", "\t", "\r\n", "utf-16-le", "\t"),  # Excel "Unicode text"
    ("utf-16-be-bom", "\t", "\r\n", "utf-16-be", "\t"),
    ("utf-8", ";", "\r\n", "utf-8", ";"),
    ("utf-8", "\t", "\n", "utf-8", "\t"),
    ("utf-8", "|", "\n", "utf-8", "|"),
    ("utf-8", ",", "\r", "utf-8", ","),  # classic Mac line ends
    ("cp1252", ";", "\r", "cp1252", ";"),
]


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


@pytest.mark.parametrize(("encoding", "sep", "newline", "reported", "delimiter"), ENCODED)
def test_names_survive_every_accepted_encoding_byte_exact(
    tmp_path: Path, encoding: str, sep: str, newline: str, reported: str, delimiter: str
) -> None:
    rows = good_rows(NAMES, 3)
    path = tmp_path / "in.csv"
    path.write_bytes(_encode(csv_text(rows, sep, newline), encoding))
    result = read_intake(path, header_map=header_map, required=COLUMNS)
    assert list(result.frame.columns) == list(COLUMNS)
    assert result.frame["FirstName"].tolist() == [NAMES] * 3
    assert result.frame["IntakeID"].tolist() == [f"{NAMES}{i}" for i in range(3)]
    assert result.encoding == reported
    assert result.delimiter == delimiter
    assert result.source_format == "csv"
    assert result.row_numbers == [2, 3, 4]


def test_values_are_never_typed_or_trimmed(tmp_path: Path) -> None:
    cells = ["00123", "NA", "NULL", "True", " padded ", "12345678901234567890", "1.23457E+11", ""]
    lines = ["IntakeID,FirstName"] + [f"{i},{c}" for i, c in enumerate(cells)]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    frame = read_intake(path, header_map=header_map).frame
    assert frame["FirstName"].tolist() == cells
    assert all(type(v) is str for v in frame.to_numpy().ravel())


def test_headers_match_by_case_spacing_and_alias(tmp_path: Path) -> None:
    header = [
        " intake id ",
        "FIRST_NAME",
        "last name",
        "Social Security Number",
        "Date of Birth",
        "relationship to hoh",
    ]
    path = tmp_path / "in.csv"
    path.write_text(csv_text([header, ["1", "a", "b", "c", "d", "e"]]))
    result = read_intake(path, header_map=header_map, required=COLUMNS)
    assert list(result.frame.columns) == list(COLUMNS)
    assert result.column_positions == {name: i for i, name in enumerate(COLUMNS, start=1)}


def test_trailing_commas_and_blank_rows_keep_real_row_numbers(tmp_path: Path) -> None:
    text = (
        "IntakeID,FirstName,,\r\n"
        "1,a,,\r\n"
        ",,,\r\n"
        "\r\n"
        '2,"two\r\nlines",,\r\n'
        "3,c,,,,\r\n"  # Excel padding past the header: blank, so harmless
        " , ,,\r\n"
        ",,,\r\n"
    )
    path = tmp_path / "in.csv"
    path.write_text(text, newline="")
    result = read_intake(path, header_map=header_map)
    assert result.row_numbers == [2, 5, 6]
    assert result.frame.loc[3, "FirstName"] == "two\r\nlines"
    assert result.blank_rows_dropped == 4


def test_whitespace_only_cell_becomes_blank_but_inner_spaces_stay(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("IntakeID,FirstName,LastName\n1,   ,\t x \n")
    frame = read_intake(path, header_map=header_map).frame
    assert frame.loc[0].tolist() == ["1", "", "\t x "]


def test_csv_named_xlsx_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.xlsx"
    path.write_text(csv_text(good_rows("x")))
    assert read_intake(path, header_map=header_map).source_format == "csv"


def test_unknown_columns_can_be_dropped_by_policy(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("IntakeID,Notes,FirstName,Extra\n1,n,a,e\n2,,b,\n")
    result = read_intake(path, header_map=header_map, on_unknown="drop")
    assert list(result.frame.columns) == ["IntakeID", "FirstName"]
    assert result.unknown_columns == [2, 4]
    assert result.column_positions == {"IntakeID": 1, "FirstName": 3}


def test_row_with_data_only_in_dropped_columns_counts_as_blank(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("IntakeID,Notes\n1,n\n,only here\n")
    result = read_intake(path, header_map=header_map, on_unknown="drop")
    assert result.row_numbers == [2]
    assert result.blank_rows_dropped == 1


# XLSX -------------------------------------------------------------------------------


def test_xlsx_cells_come_back_as_the_text_the_agency_saw(tmp_path: Path) -> None:
    rows = [
        list(COLUMNS),
        ["00123", NAMES, 5, 12345678, dt.datetime(1984, 2, 29), 1.0],
        [7, "O’Brien", True, 12345678, dt.date(2001, 1, 2), 2.5],
    ]
    path = save_workbook(
        tmp_path / "in.xlsx",
        [("Intake", rows, "visible")],
        number_formats={"D2": "000-00-0000", "D3": "000000000", "E3": "mm/dd/yyyy"},
    )
    result = read_intake(path, header_map=header_map, required=COLUMNS)
    frame = result.frame
    assert result.source_format == "xlsx"
    assert result.delimiter is None
    assert frame.loc[0].tolist() == ["00123", NAMES, "5", "012345678", "1984-02-29", "1"]
    assert frame.loc[1].tolist() == ["7", "O’Brien", "TRUE", "012345678", "2001-01-02", "2.5"]


def test_xlsx_escaped_characters_are_decoded(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path / "in.xlsx", [("Intake", [["IntakeID", "FirstName"], ["1", "AB"]], "visible")]
    )
    rewrite_zip(path, lambda n, d: d.replace(b"<t>AB</t>", b"<t>A_x000D_\nB_x005F_x0041_</t>"))
    assert read_intake(path, header_map=header_map).frame.loc[0, "FirstName"] == "A\r\nB_x0041_"


def test_xlsx_instructions_and_hidden_helper_sheets_are_not_data(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path / "in.xlsx",
        [
            ("Read me", [["How to fill this in"], ["IntakeID"], ["FirstName"]], "visible"),
            ("Intake", [list(COLUMNS), ["1", "a", "b", "c", "d", "e"], [], ["2"]], "visible"),
            ("Lists", [["Codes"], ["1", "Head"]], "hidden"),
        ],
    )
    result = read_intake(path, header_map=header_map)
    assert result.row_numbers == [2, 4]
    assert result.blank_rows_dropped == 1
    assert result.frame.loc[2].tolist() == ["2", "", "", "", "", ""]


def test_xlsx_named_csv_is_read_as_a_workbook(tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "in.csv", [("Intake", good_rows(NAMES), "visible")])
    result = read_intake(path, header_map=header_map)
    assert result.source_format == "xlsx"
    assert result.frame["FirstName"].tolist() == [NAMES, NAMES]


def test_xlsx_single_sheet_with_bad_header_reports_the_header(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path / "in.xlsx", [("S", [["IntakeID", "Nope"], ["1", "x"]], "visible")]
    )
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map)
    assert caught.value.rule_id == "FILE-UNKNOWN-COLUMNS"
    assert "column 2 (B)" in caught.value.detail


def test_real_canonical_header_map(tmp_path: Path) -> None:
    from schemas import columns

    path = tmp_path / "in.csv"
    path.write_text("Intake ID;First Name;Date of Birth;SSN #\n1;a;2000-01-01;00012\n")
    result = read_intake(path, header_map=columns.canonical_header)
    assert list(result.frame.columns) == ["IntakeID", "FirstName", "DOB", "SSN"]
    assert result.delimiter == ";"


def test_xlsx_formula_outside_the_data_sheet_is_ignored(tmp_path: Path) -> None:
    path = save_workbook(
        tmp_path / "in.xlsx",
        [
            ("Intake", good_rows("x"), "visible"),
            ("Summary", [["=COUNTA(Intake!A:A)", "rows"]], "visible"),
        ],
    )
    assert len(read_intake(path, header_map=header_map).frame) == 2


def test_xlsx_blank_cell_far_right_in_the_header_costs_nothing(tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "in.xlsx", [("Intake", good_rows("x"), "visible")])
    rewrite_zip(
        path,
        lambda n, d: d.replace(
            b"</row>", b'<c r="XFD1" t="inlineStr"><is><t> </t></is></c></row>', 1
        ),
    )
    result = read_intake(path, header_map=header_map)
    assert list(result.frame.columns) == list(COLUMNS)


@pytest.mark.parametrize(
    ("value", "number_format", "text"),
    [
        (None, "General", ""),
        (5.0, "General", "5"),
        (-5.0, "General", "-5"),
        (0.1, "General", "0.1"),
        (1e20, "General", "1E+20"),
        (123456789012.0, "General", "123456789012"),
        (123, "00000", "00123"),
        (123456, "00000", "123456"),
        (12345678, '000"-"00"-"0000', "012345678"),
        (5, "0.00", "5"),
        (False, "General", "FALSE"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "General", "2024-01-02 03:04:05"),
        (dt.time(10, 30), "General", "10:30:00"),
    ],
)
def test_cell_text(value: object, number_format: str, text: str) -> None:
    assert cell_text(value, number_format) == text

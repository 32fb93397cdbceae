"""Every bad input of file-intake-reliability.md §3 is refused with its own rule id.

Each case builds its file in ``tmp_path`` with a unique canary in every cell and in the file
name; the refusal (message, detail, args, and anything chained to it) must not contain it.
"""

from __future__ import annotations

import gzip
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.reader import ReadLimits, read_intake
from hmis_handoff.errors import FileRejected
from tests.reader.helpers import (
    COLUMNS,
    header_map,
    rewrite_zip,
    save_workbook,
)

Builder = Callable[[Path, str], Path]


@dataclass(frozen=True)
class Case:
    id: str
    build: Builder
    rule: str
    limits: ReadLimits = field(default_factory=ReadLimits)
    required: tuple[str, ...] = ()


def _text(suffix: str, text: str, encoding: str = "utf-8") -> Builder:
    def build(tmp: Path, value: str) -> Path:
        path = tmp / f"{value}{suffix}"
        path.write_bytes(text.replace("{v}", value).encode(encoding))
        return path

    return build


def _bytes(suffix: str, make: Callable[[str], bytes]) -> Builder:
    def build(tmp: Path, value: str) -> Path:
        path = tmp / f"{value}{suffix}"
        path.write_bytes(make(value))
        return path

    return build


HEAD = ",".join(COLUMNS)
ROW = "{v}1,{v},{v},{v},{v},{v}"


def _csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def _book(*sheets: tuple[str, list[list[object]], str], suffix: str = ".xlsx") -> Builder:
    def build(tmp: Path, value: str) -> Path:
        filled = [
            (
                title,
                [
                    [c.replace("{v}", value) if isinstance(c, str) else c for c in row]
                    for row in rows
                ],
                state,
            )
            for title, rows, state in sheets
        ]
        return save_workbook(tmp / f"{value}{suffix}", filled)

    return build


DATA = [list(COLUMNS), ["{v}1", "{v}", "{v}", "{v}", "{v}", "{v}"]]


def _surgery(change: Callable[[str, bytes], bytes | None], extra: dict[str, bytes] | None = None):
    def build(tmp: Path, value: str) -> Path:
        path = _book(("Intake", DATA, "visible"))(tmp, value)
        return rewrite_zip(path, change, extra)

    return build


def _sheet_xml(transform: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes | None]:
    def change(name: str, data: bytes) -> bytes | None:
        return transform(data) if name == "xl/worksheets/sheet1.xml" else data

    return change


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


def _billion_laughs(data: bytes) -> bytes:
    return LAUGHS + data.replace(b"<t>", b"<t>&lol9;", 1)


def _xxe(data: bytes) -> bytes:
    prolog = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    return prolog + data.replace(b"<t>", b"<t>&x;", 1)


def _whitespace_bomb(tmp: Path, value: str) -> Path:
    path = _book(("Intake", DATA, "visible"))(tmp, value)

    def change(name: str, data: bytes) -> bytes | None:
        if name == "xl/worksheets/sheet1.xml":
            return data.replace(b"<sheetData>", b"<sheetData>" + b" " * (8 * 2**20))
        return data

    return rewrite_zip(path, change)


def _formula(tmp: Path, value: str) -> Path:
    return _book(
        ("Intake", [list(COLUMNS), [f"{value}1", "=B1&C1", "x", "x", "x", "x"]], "visible")
    )(tmp, value)


def _many_rows_book(tmp: Path, value: str) -> Path:
    rows = [list(COLUMNS)] + [[f"{value}{i}", value, value, value, value, "1"] for i in range(20)]
    return save_workbook(tmp / f"{value}.xlsx", [("Intake", rows, "visible")])


def _truncated_book(tmp: Path, value: str) -> Path:
    path = _book(("Intake", DATA, "visible"))(tmp, value)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _plain_zip(tmp: Path, value: str) -> Path:
    path = tmp / f"{value}.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", value)
    return path


def _late_nul(value: str) -> bytes:
    rows = [HEAD] + [ROW.replace("{v}", value)] * 3000 + ["x,y\x00z,a,b,c,d"]
    return ("\r\n".join(rows) + "\r\n").encode()


def _random(value: str) -> bytes:
    return random.Random(7).randbytes(4096)


def _utf16_no_bom(value: str) -> bytes:
    return _csv(HEAD, ROW).replace("{v}", value).encode("utf-16-le")


def _gzip(value: str) -> bytes:
    return gzip.compress(_csv(HEAD, ROW).replace("{v}", value).encode(), mtime=0)


def _ole2(value: str) -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + value.encode() + bytes(512)


CASES: list[Case] = [
    # Empty and binary
    Case("zero-bytes", _bytes(".csv", lambda v: b""), "FILE-EMPTY"),
    Case("whitespace-only", _text(".csv", "  \r\n \t\n\n"), "FILE-EMPTY"),
    Case("bom-only", _bytes(".csv", lambda v: b"\xef\xbb\xbf"), "FILE-EMPTY"),
    Case("header-only", _text(".csv", _csv(HEAD)), "FILE-NO-ROWS"),
    Case(
        "header-and-blank-rows", _text(".csv", _csv(HEAD, ",,,,,", "", " ,,, ,,")), "FILE-NO-ROWS"
    ),
    Case(
        "not-utf8-nor-cp1252",
        _bytes(".csv", lambda v: _csv(HEAD, ROW).replace("{v}", v).encode() + b"\x81\x8d\r\n"),
        "FILE-ENCODING",
    ),
    Case("random-bytes", _bytes(".csv", _random), "FILE-BINARY"),
    Case("nul-in-cell", _text(".csv", _csv(HEAD, "{v}1,a\x00b,c,d,e,f")), "FILE-BINARY"),
    Case("nul-after-sniff-window", _bytes(".csv", _late_nul), "FILE-BINARY"),
    Case("utf16-without-bom", _bytes(".csv", _utf16_no_bom), "FILE-BINARY"),
    Case("gzip-named-csv", _bytes(".csv", _gzip), "FILE-BINARY"),
    Case(
        "png-named-csv",
        _bytes(".csv", lambda v: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        "FILE-BINARY",
    ),
    # Control characters
    Case("bell", _text(".csv", _csv(HEAD, "{v}1,a\x07b,c,d,e,f")), "FILE-CONTROL-CHARS"),
    Case("escape", _text(".csv", _csv(HEAD, ROW, "{v}2,\x1b[31m,c,d,e,f")), "FILE-CONTROL-CHARS"),
    Case("vertical-tab", _text(".csv", _csv(HEAD, "{v}1,a\x0bb,c,d,e,f")), "FILE-CONTROL-CHARS"),
    Case("c1-next-line", _text(".csv", _csv(HEAD, "{v}1,a\x85b,c,d,e,f")), "FILE-CONTROL-CHARS"),
    Case("delete", _text(".csv", _csv(HEAD, "{v}1,a\x7f,c,d,e,f")), "FILE-CONTROL-CHARS"),
    Case("control-in-header", _text(".csv", _csv(HEAD + "\x01", ROW)), "FILE-CONTROL-CHARS"),
    # Headers
    Case(
        "duplicate-header",
        _text(".csv", _csv(HEAD + ",SSN", ROW + ",{v}")),
        "FILE-DUPLICATE-HEADER",
    ),
    Case(
        "duplicate-by-alias",
        _text(".csv", _csv(HEAD + ",Date of Birth", ROW + ",{v}")),
        "FILE-DUPLICATE-HEADER",
    ),
    Case(
        "duplicate-by-case-and-space",
        _text(".csv", _csv(HEAD + ", ssn ", ROW + ",{v}")),
        "FILE-DUPLICATE-HEADER",
    ),
    Case(
        "blank-header-inside",
        _text(".csv", _csv("IntakeID,,LastName", "{v},{v},{v}")),
        "FILE-BLANK-HEADER",
    ),
    Case(
        "data-under-trailing-blank-header",
        _text(".csv", _csv(HEAD + ",", ROW + ",{v}")),
        "FILE-BLANK-HEADER",
    ),
    Case("empty-header-line", _text(".csv", _csv("", HEAD, ROW)), "FILE-BLANK-HEADER"),
    Case(
        "missing-required",
        _text(".csv", _csv("IntakeID,FirstName", "{v},{v}")),
        "FILE-MISSING-COLUMNS",
        required=("IntakeID", "SSN"),
    ),
    Case("unknown-column", _text(".csv", _csv(HEAD + ",{v}", ROW + ",x")), "FILE-UNKNOWN-COLUMNS"),
    Case("no-header-row", _text(".csv", _csv(ROW, ROW)), "FILE-UNKNOWN-COLUMNS"),
    Case(
        "header-line-too-long",
        _text(".csv", "a" * (1 << 20) + "\r\n" + ROW),
        "FILE-UNKNOWN-COLUMNS",
    ),
    # Structure
    Case("extra-field-later-row", _text(".csv", _csv(HEAD, ROW, ROW + ",{v}")), "FILE-RAGGED-ROW"),
    Case("extra-field-first-row", _text(".csv", _csv(HEAD, ROW + ",{v}", ROW)), "FILE-RAGGED-ROW"),
    Case("missing-field", _text(".csv", _csv(HEAD, ROW, "{v},{v},{v}")), "FILE-RAGGED-ROW"),
    Case(
        "unquoted-comma",
        _text(".csv", _csv(HEAD, "{v}1,O'Brien, Jr,{v},{v},{v},{v}")),
        "FILE-RAGGED-ROW",
    ),
    Case(
        "quote-swallows-rows",
        _text(".csv", _csv(HEAD, '{v}1,"{v},{v}', '{v},{v},{v}"', ROW)),
        "FILE-RAGGED-ROW",
    ),
    Case(
        "unclosed-quote", _text(".csv", _csv(HEAD, ROW, '{v}2,"{v},{v},{v},{v},{v}')), "FILE-QUOTE"
    ),
    Case(
        "text-after-closing-quote",
        _text(".csv", _csv(HEAD, '{v}1,"O"Brien",{v},{v},{v},{v}')),
        "FILE-QUOTE",
    ),
    Case(
        "field-over-128k",
        _text(".csv", _csv(HEAD, '{v}1,"' + "x" * 140_000 + '",a,b,c,d')),
        "FILE-CELL-TOO-LARGE",  # its own rule since #9 (was reported as FILE-QUOTE)
    ),
    # Limits
    Case(
        "too-large",
        _text(".csv", _csv(HEAD, *[ROW] * 50)),
        "FILE-TOO-LARGE",
        limits=ReadLimits(max_bytes=1024),
    ),
    Case(
        "too-many-rows",
        _text(".csv", _csv(HEAD, *[ROW] * 6)),
        "FILE-TOO-MANY-ROWS",
        limits=ReadLimits(max_rows=5),
    ),
    # Excel
    Case("ole2-password-or-xls", _bytes(".xlsx", _ole2), "FILE-XLSX-ENCRYPTED"),
    Case("ole2-named-csv", _bytes(".csv", _ole2), "FILE-XLSX-ENCRYPTED"),
    Case(
        "macro-project",
        _surgery(lambda n, d: d, {"xl/vbaProject.bin": b"\x00" * 64}),
        "FILE-XLSX-MACRO",
    ),
    Case(
        "macro-content-type",
        _surgery(
            lambda n, d: (
                d.replace(b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
                if n == "[Content_Types].xml"
                else d
            )
        ),
        "FILE-XLSX-MACRO",
    ),
    Case(
        "two-data-sheets", _book(("A", DATA, "visible"), ("B", DATA, "visible")), "FILE-XLSX-SHEETS"
    ),
    Case(
        "hidden-second-data-sheet",
        _book(("A", DATA, "visible"), ("B", DATA, "hidden")),
        "FILE-XLSX-SHEETS",
    ),
    Case(
        "very-hidden-data-sheet",
        _book(
            ("Instructions", [["Read me"]], "visible"),
            ("A", DATA, "visible"),
            ("B", DATA, "veryHidden"),
        ),
        "FILE-XLSX-SHEETS",
    ),
    Case(
        "only-helper-sheets",
        _book(("Instructions", [["Read me"]], "visible"), ("Codes", [["Codes"]], "hidden")),
        "FILE-XLSX-SHEETS",
    ),
    Case("formula", _formula, "FILE-XLSX-FORMULA"),
    Case(
        "formula-in-xlsx-named-csv",
        lambda t, v: _formula(t, v).rename(t / f"{v}.csv") or t / f"{v}.csv",
        "FILE-XLSX-FORMULA",
    ),
    Case("whitespace-zip-bomb", _whitespace_bomb, "FILE-XLSX-BOMB"),
    Case(
        "expands-past-cap",
        _book(("Intake", DATA, "visible")),
        "FILE-XLSX-BOMB",
        limits=ReadLimits(max_xlsx_uncompressed=2048),
    ),
    Case("billion-laughs", _surgery(_sheet_xml(_billion_laughs)), "FILE-XLSX-BOMB"),
    Case("xxe", _surgery(_sheet_xml(_xxe)), "FILE-XLSX-BOMB"),
    Case("zip-not-workbook", _plain_zip, "FILE-XLSX-INVALID"),
    Case("truncated-workbook", _truncated_book, "FILE-XLSX-INVALID"),
    Case(
        "garbage-sheet-xml",
        _surgery(_sheet_xml(lambda d: b"<worksheet><sheetData><row")),
        "FILE-XLSX-INVALID",
    ),
    Case(
        "xlsx-control-char",
        _surgery(_sheet_xml(lambda d: d.replace(b"<t>CNRY", b"<t>_x0007_CNRY", 1))),
        "FILE-CONTROL-CHARS",
    ),
    Case(
        "xlsx-data-right-of-header",
        _book(("Intake", [list(COLUMNS), ["{v}", "", "", "", "", "", "{v}"]], "visible")),
        "FILE-BLANK-HEADER",
    ),
    Case(
        "xlsx-duplicate-header",
        _book(("Intake", [[*COLUMNS, "ssn"], ["{v}"] * 7], "visible")),
        "FILE-DUPLICATE-HEADER",
    ),
    Case("xlsx-header-only", _book(("Intake", [list(COLUMNS)], "visible")), "FILE-NO-ROWS"),
    Case(
        "xlsx-too-many-rows", _many_rows_book, "FILE-TOO-MANY-ROWS", limits=ReadLimits(max_rows=10)
    ),
    Case(
        "xlsx-title-above-header",
        _book(("Intake", [["{v} intake list"], *DATA], "visible")),
        "FILE-UNKNOWN-COLUMNS",
    ),
]


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_its_rule_and_no_value(tmp_path: Path, case: Case) -> None:
    value = f"CNRY-{case.id}-7f3a9c"
    path = case.build(tmp_path, value)
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map, required=case.required, limits=case.limits)
    rejection = caught.value
    assert rejection.rule_id == case.rule, rejection.detail
    assert rejection.detail
    for exc in _chain(rejection):
        for text in (str(exc), repr(exc), *map(str, exc.args), getattr(exc, "detail", "")):
            assert "CNRY" not in text
    assert rejection.__cause__ is None
    assert rejection.__context__ is None


def test_a_row_of_a_million_commas_is_ragged_not_a_million_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(f"{HEAD}\r\n{ROW}{',' * 1_000_000}\r\n".replace("{v}", "x"))
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map)
    assert caught.value.rule_id == "FILE-RAGGED-ROW"


def test_a_header_wider_than_any_intake_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_500)) + "\r\n" + "x," * 1_499 + "x\r\n")
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map, on_unknown="drop")
    assert caught.value.rule_id == "FILE-UNKNOWN-COLUMNS"

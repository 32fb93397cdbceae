"""Property tests: hostile bytes never crash a parser except with our own typed errors,
and no error text carries a value from the input.

Targets: the intake reader (CSV and XLSX bytes), the validator (random cell text in every
column), the age header parser and the package manifest parser. Each input carries a
canary; an error whose text contains it would leak a cell value.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from connectors.reader import ReadLimits, read_intake
from hmis_handoff.crypto.errors import AgeError, ManifestInvalid
from hmis_handoff.crypto.header import parse_header
from hmis_handoff.crypto.package import PackageManifest
from hmis_handoff.crypto.readahead import Reader
from hmis_handoff.errors import FileRejected, IntakeValidationError
from schemas.columns import canonical_header, column_names
from schemas.rules import RULES
from schemas.validate import ChunkedValidation, ValidationContext
from tests.synthetic import make_valid_row

CANARY = "QZXCANARY"
LIMITS = ReadLimits(max_bytes=1 << 20, max_rows=2_000)
COLUMNS = list(column_names("FY2026"))

cell_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
).map(lambda s: s + CANARY)
raw_bytes = st.binary(max_size=512)


def _assert_clean(error: BaseException) -> None:
    text = " ".join([str(error), repr(error.args), str(getattr(error, "detail", ""))])
    assert CANARY not in text, "an error message carries an input value"
    assert error.__cause__ is None or CANARY not in str(error.__cause__)


def _read(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"intake{suffix}"
        path.write_bytes(data)
        try:
            read_intake(path, header_map=canonical_header, limits=LIMITS, on_unknown="drop")
        except FileRejected as error:
            _assert_clean(error)


def _csv_line(cells: list[str], delimiter: str) -> str:
    return delimiter.join(cells)


@given(
    rows=st.lists(st.lists(cell_text, min_size=1, max_size=8), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    noise=raw_bytes,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_reader_csv_bytes(
    rows: list[list[str]], delimiter: str, noise: bytes, encoding: str
) -> None:
    header = _csv_line(COLUMNS[:8], delimiter)
    text = "\r\n".join([header, *(_csv_line(r, delimiter) for r in rows)])
    data = text.encode(encoding, errors="replace")
    _read(data, ".csv")
    _read(data + noise, ".csv")
    _read(noise, ".csv")


def _workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS[:8])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_BASE_XLSX = _workbook([[f"A{CANARY}", "x", "y"]])


@given(
    rows=st.lists(
        st.lists(cell_text.map(lambda s: "".join(c for c in s if c.isprintable())), max_size=8),
        max_size=4,
    ),
    flips=st.lists(st.tuples(st.integers(0, len(_BASE_XLSX) - 1), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, len(_BASE_XLSX)),
)
def test_reader_xlsx_bytes(rows: list[list[str]], flips: list[tuple[int, int]], cut: int) -> None:
    _read(_workbook(rows), ".xlsx")
    mutated = bytearray(_BASE_XLSX)
    for position, value in flips:
        mutated[position] = value
    _read(bytes(mutated), ".xlsx")
    _read(_BASE_XLSX[:cut], ".xlsx")


@given(
    cells=st.dictionaries(st.sampled_from(COLUMNS), cell_text | st.just(""), max_size=12),
    copies=st.integers(1, 3),
)
def test_validator_random_cells(cells: dict[str, str], copies: int) -> None:
    rows = [dict(make_valid_row(IntakeID=f"T{i}"), **cells) for i in range(copies)]
    frame = pd.DataFrame(rows, dtype=object)
    run = ChunkedValidation(ValidationContext(agency_id="demo-agency", today=date(2026, 3, 9)))
    try:
        part = run.validate_chunk(frame)
        tail = run.finish()
    except IntakeValidationError as error:
        _assert_clean(error)
        return
    for problem in [*part.problems, *tail.problems]:
        assert problem.rule_id in RULES
        assert problem.column in COLUMNS or problem.column == ""
        assert CANARY not in repr(problem)


@given(
    body=raw_bytes,
    stanza=st.binary(max_size=64),
    prefix=st.sampled_from([b"", b"age-encryption.org/v1\n", b"age-encryption.org/v1\n-> X25519 "]),
)
def test_age_header_parser(body: bytes, stanza: bytes, prefix: bytes) -> None:
    data = prefix + stanza + b"\n" + body
    with contextlib.suppress(AgeError):
        parse_header(Reader(io.BytesIO(data)))


_MANIFEST_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "format",
            "package_id",
            "agency_id",
            "partner_id",
            "record_count",
            "created_at",
            "ciphertext_sha256",
            "plaintext_sha256",
            "signer",
            "schema_version",
            "recipient_fingerprints",
            CANARY,
        ]
    ),
    st.none() | st.integers() | cell_text | st.lists(cell_text, max_size=2),
    max_size=12,
)


@given(fields=_MANIFEST_FIELDS, noise=raw_bytes)
def test_manifest_parser(fields: dict[str, object], noise: bytes) -> None:
    for data in (json.dumps(fields).encode(), noise, json.dumps(fields).encode()[: len(noise)]):
        try:
            PackageManifest.from_json(data)
        except ManifestInvalid as error:
            _assert_clean(error)

"""A UTF-8 file with a stray cp1252 byte is refused naming the row; IntakeIDs carry no PII."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.reader import ReadLimits, read_intake
from hmis_handoff.errors import FileRejected
from hmis_handoff.ledger import FileState
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows, run_all
from tests.reader.helpers import header_map
from tests.security.helpers import report_rows
from usecases.initialise import initialise

HEADER = "IntakeID,FirstName,LastName\r\n"


def _read(path: Path) -> object:
    return read_intake(path, header_map=header_map, limits=ReadLimits())


def test_one_cp1252_byte_in_a_utf8_file_is_refused_naming_its_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    body = HEADER + "A1,José,Núñez\r\nA2,Zoë,Ødegaard\r\n"
    path.write_bytes(body.encode("utf-8") + "A3,Renée,Smith\r\n".encode("cp1252"))
    with pytest.raises(FileRejected) as caught:
        _read(path)
    assert caught.value.rule_id == "FILE-MIXED-ENCODING"
    assert "row 4" in str(caught.value.detail)
    assert "Ren" not in str(caught.value) and "Smith" not in str(caught.value.detail)


def test_a_wholly_cp1252_file_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes((HEADER + "A1,José,Núñez\r\n").encode("cp1252"))
    result = _read(path)
    assert result.frame.iloc[0]["FirstName"] == "José"  # type: ignore[attr-defined]


def test_a_clean_utf8_file_is_unaffected(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_bytes((HEADER + "A1,José,Núñez\r\n").encode("utf-8"))
    assert _read(path).frame.iloc[0]["LastName"] == "Núñez"  # type: ignore[attr-defined]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_intake_ids_holding_ssn_dob_or_name_are_refused(root: Path) -> None:
    pipe = make_pipeline(root)
    data = rows(6, "IID")
    data[0]["IntakeID"] = data[0]["SSN"]
    dob = data[1]["DOB"].replace("-", "")
    data[1]["IntakeID"] = f"X{dob}"
    data[2]["IntakeID"] = f"{data[2]['LastName'].upper()}-01"
    data[3]["IntakeID"] = "123-45-6789"
    data[4]["IntakeID"] = f"I{data[4]['SSN'][-4:]}"  # last four alone: allowed
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED
    refused = {r["row"] for r in report_rows(root) if r["rule_id"] == "INTAKE-ID-HAS-PII"}
    assert refused == {"2", "3", "4", "5"}
    assert outcome.rows_sent == 2
    stored = {r.intake_id for r in pipe.ledger.records()}
    assert stored == {data[4]["IntakeID"], data[5]["IntakeID"]}


@pytest.mark.parametrize("quoted", [False, True])
def test_a_cell_over_128_kib_has_its_own_rule(tmp_path: Path, quoted: bool) -> None:
    path = tmp_path / "huge-cell.csv"
    big = "CNRY" + "x" * (130 * 1024)
    cell = f'"{big}"' if quoted else big
    path.write_text(HEADER + "A1,Ann,Lee\r\n" + f"A2,{cell},Lee\r\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        _read(path)
    assert caught.value.rule_id == "FILE-CELL-TOO-LARGE"
    assert "row 3" in caught.value.detail and "CNRY" not in str(caught.value)


def test_unbalanced_quotes_are_still_file_quote(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text(HEADER + 'A1,"Ann,Lee\r\n', encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        _read(path)
    assert caught.value.rule_id == "FILE-QUOTE"

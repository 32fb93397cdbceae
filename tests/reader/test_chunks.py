"""Chunked reading gives the same rows, labels and counts as reading the file whole."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from connectors.reader import ReadLimits, iter_intake_chunks, read_intake
from hmis_handoff.errors import FileRejected
from tests.reader.helpers import COLUMNS, header_map, save_workbook


def _file(tmp_path: Path) -> Path:
    lines = [",".join(COLUMNS)]
    for i in range(40):
        lines.append(",,,,," if i % 7 == 3 else f'{i},"name\n{i}",b,c,d,e')
    path = tmp_path / "in.csv"
    path.write_text("\r\n".join(lines) + "\r\n", newline="")
    return path


@pytest.mark.parametrize("chunk_rows", [1, 3, 7, 40, 1000])
def test_chunks_concatenate_to_the_whole_read(tmp_path: Path, chunk_rows: int) -> None:
    path = _file(tmp_path)
    whole = read_intake(path, header_map=header_map)
    parts = list(iter_intake_chunks(path, header_map=header_map, chunk_rows=chunk_rows))
    joined = pd.concat([p.frame for p in parts])
    pd.testing.assert_frame_equal(joined, whole.frame)
    assert sum(p.blank_rows_dropped for p in parts) == whole.blank_rows_dropped == 6
    assert whole.frame.loc[0, "FirstName"] == "name\n0"
    assert whole.row_numbers[:4] == [2, 3, 4, 6]


def test_xlsx_is_split_into_chunks(tmp_path: Path) -> None:
    rows = [list(COLUMNS)] + [[str(i), "a", "b", "c", "d", "e"] for i in range(10)]
    path = save_workbook(tmp_path / "in.xlsx", [("Intake", rows, "visible")])
    parts = list(iter_intake_chunks(path, header_map=header_map, chunk_rows=4))
    assert [len(p.frame) for p in parts] == [4, 4, 2]
    assert parts[2].row_numbers == [10, 11]


def test_all_blank_rows_are_refused_after_the_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",,,,,\n" * 10)
    with pytest.raises(FileRejected) as caught:
        list(iter_intake_chunks(path, header_map=header_map, chunk_rows=3))
    assert caught.value.rule_id == "FILE-NO-ROWS"


def test_row_limit_counts_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(",".join(COLUMNS) + "\n1,a,b,c,d,e\n" + ",,,,,\n" * 5)
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map, limits=ReadLimits(max_rows=5))
    assert caught.value.rule_id == "FILE-TOO-MANY-ROWS"


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        next(iter_intake_chunks(_file(tmp_path), header_map=header_map, chunk_rows=0))

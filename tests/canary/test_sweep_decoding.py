"""The sweep finds a marker however it was wrapped, and stays quiet when it is absent."""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import sqlite3
import zlib
from pathlib import Path

import pytest

from tests.canary.sweep import Sweep

MARKER = "CnryZoëb7e1f00d"
SWEEP = Sweep([MARKER, "Cnry0000000001"])


def _hows(blob: bytes) -> set[str]:
    return {hit.how for hit in SWEEP.scan(blob, "test")}


@pytest.mark.parametrize(
    ("blob", "how"),
    [
        (f"a log line: {MARKER}\n".encode(), "raw"),
        (b"upper: CNRY0000000001", "raw"),
        (json.dumps({"msg": f"x {MARKER} y"}).encode(), "raw > json-escapes"),
        (b"value=" + base64.b64encode(f"..{MARKER}..".encode()), "raw > base64"),
        (b'"' + base64.urlsafe_b64encode(f"?>{MARKER}~~".encode()) + b'"', "raw > base64url"),
        (b"prefix" + base64.b64encode(f"{MARKER} at offset".encode()), "raw > base64"),
        (pickle.dumps({"result": [MARKER]}), "raw > pickle"),
        (
            json.dumps({"blob": base64.b64encode(pickle.dumps(MARKER)).decode()}).encode(),
            "raw > base64 > pickle",
        ),
        (gzip.compress(MARKER.encode()), "raw > gzip"),
        (b"hdr" + zlib.compress(f"{MARKER}".encode() * 3), "raw > zlib"),
    ],
)
def test_a_wrapped_marker_is_found(blob: bytes, how: str) -> None:
    assert how in _hows(blob)


def test_json_escaped_non_ascii_is_found() -> None:
    escaped = json.dumps({"name": MARKER}, ensure_ascii=True).encode()
    assert MARKER.encode() not in escaped  # the ë is \u00eb: raw search alone would miss it
    assert "raw > json-escapes" in _hows(escaped)


def test_nothing_found_without_the_marker() -> None:
    blob = json.dumps({"id": "DEMO-0001", "b64": base64.b64encode(b"Cnry00000").decode()})
    assert SWEEP.scan(blob.encode(), "test") == []


def test_sqlite_values_and_file_names_are_searched(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (a TEXT, b BLOB)")
    con.execute("INSERT INTO t VALUES (?, ?)", ("fine", pickle.dumps({"k": MARKER})))
    con.commit()  # kept open: the row is in the WAL only, which the sweep must read too
    (tmp_path / f"{MARKER}.txt").write_text("nothing here")
    hits, count = SWEEP.scan_tree(tmp_path)
    con.close()
    wheres = {h.where for h in hits}
    assert count >= 2
    assert any("table t.b" in w for w in wheres), wheres
    assert any(w.startswith("the name") for w in wheres), wheres

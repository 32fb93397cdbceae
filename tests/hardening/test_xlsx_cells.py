"""Finding 2 trigger: an XLSX within every size limit whose one row holds millions of empty
cells. openpyxl materialises a whole row before yielding it (6.6 GB RSS for 20 million
cells); the cell counts are now capped per row and per sheet before any XML is parsed.
The child process measures its own peak RSS around the read.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl

from schemas.columns import column_names

CELLS = 2_000_000

_READ = """
import json, resource, sys
from pathlib import Path
from connectors.reader import ReadLimits, iter_intake_chunks
from hmis_handoff.errors import FileRejected
from schemas.columns import canonical_header
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rule = None
try:
    for _ in iter_intake_chunks(Path(sys.argv[1]), header_map=canonical_header,
                                limits=ReadLimits(), chunk_rows=50_000):
        pass
except FileRejected as exc:
    rule = exc.rule_id
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rule": rule, "growth_kib": after - before}))
"""


def _wide_row_workbook(path: Path, cells: int) -> None:
    """A valid intake header, then row 2 with ``cells`` empty styled cells (no refs)."""
    book = openpyxl.Workbook()
    book.active.append(list(column_names("FY2026")))
    buffer = io.BytesIO()
    book.save(buffer)
    # Vary the style digit so the part compresses like real data (ratio under the cap).
    rng = np.random.default_rng(9)
    unit = np.frombuffer(b'<c s="0"/>', dtype=np.uint8)
    grid = np.tile(unit, (cells, 1))
    grid[:, 6] = rng.integers(ord("0"), ord("9") + 1, size=cells, dtype=np.uint8)
    row = b'<row r="2">' + grid.tobytes() + b"</row>"
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", row + b"</sheetData>")
            target.writestr(info.filename, data)


def test_row_of_millions_of_empty_cells_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "wide.xlsx"
    _wide_row_workbook(path, CELLS)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size < 200 * 2**20 and info.file_size < 100 * info.compress_size
    assert path.stat().st_size < 50 * 2**20  # within every size limit
    done = subprocess.run(
        [sys.executable, "-c", _READ, str(path)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["rule"] == "FILE-XLSX-BOMB"
    # Before the cap this read grew by roughly 330 bytes per cell (660 MB here).
    assert result["growth_kib"] < 64 * 1024, result

"""Reading a decrypted package payload in tests: the zip of format 2, or format 1's flat CSV."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from hmis_handoff.payload import INTAKE


def intake_text(plain: Path | bytes) -> str:
    """The delivered intake CSV (BOM removed) of a decrypted payload."""
    data = plain.read_bytes() if isinstance(plain, Path) else plain
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = archive.read(INTAKE)
    return data.decode("utf-8-sig")

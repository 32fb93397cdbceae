"""Decide what a file is from its bytes (never its name) and how its text is laid out."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Literal

from connectors.headers import count_known
from connectors.read_types import HeaderMap

__all__ = [
    "CONTROL_CHARS",
    "CP1252",
    "DELIMITERS",
    "EMPTY_ZIP_MAGIC",
    "OLE2_MAGIC",
    "SNIFF_BYTES",
    "UTF8",
    "UTF8_BOM",
    "ZIP_MAGIC",
    "Kind",
    "TextEncoding",
    "bom_encoding",
    "detect_delimiter",
    "file_kind",
    "looks_binary",
]

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SNIFF_BYTES = 64 * 1024

#: Control characters other than tab, CR and LF (C0, DEL and C1).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_C0_BYTES = bytes(b for b in range(32) if b not in b"\t\r\n") + b"\x7f"
DELIMITERS = (",", ";", "\t", "|")

Kind = Literal["zip", "ole2", "text"]


def file_kind(head: bytes) -> Kind:
    """``zip`` (xlsx or another zip), ``ole2`` (legacy .xls or an encrypted workbook) or text."""
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "zip"
    if head.startswith(OLE2_MAGIC):
        return "ole2"
    return "text"


@dataclass(frozen=True)
class TextEncoding:
    """``codec`` decodes the whole file from byte 0 (it consumes any BOM); ``name`` is
    what we report."""

    codec: str
    name: str


UTF8 = TextEncoding("utf-8", "utf-8")
UTF8_BOM = TextEncoding("utf-8-sig", "utf-8-sig")
CP1252 = TextEncoding("cp1252", "cp1252")


def bom_encoding(head: bytes) -> TextEncoding | None:
    """The encoding a byte-order mark announces, if the file starts with one."""
    if head.startswith(b"\xef\xbb\xbf"):
        return UTF8_BOM
    if head.startswith(b"\xff\xfe"):
        return TextEncoding("utf-16", "utf-16-le")
    if head.startswith(b"\xfe\xff"):
        return TextEncoding("utf-16", "utf-16-be")
    return None


def looks_binary(head: bytes) -> bool:
    """True when the first bytes of a BOM-less file cannot be delimited text.

    A NUL byte never occurs in UTF-8 or cp1252 text; more than 10 % control bytes means
    random or compressed data rather than text with a stray control character.
    """
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _C0_BYTES))
    return controls * 10 > len(head)


def detect_delimiter(first_line: str, header_map: HeaderMap) -> str:
    """The delimiter that splits the header line into the most recognised column names.

    Ties go to more fields, then to the order ``, ; TAB |``. A header our ``header_map``
    does not recognise at all still gets the delimiter that splits it most.
    """
    best = DELIMITERS[0]
    best_score = (-1, -1)
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        score = (count_known(cells, header_map), len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best

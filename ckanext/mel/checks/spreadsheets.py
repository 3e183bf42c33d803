"""XLSX and ODS files, read into the rows that are checked.

Validata reads a spreadsheet's first sheet with frictionless: XLSX through
openpyxl with the cells' number formats kept (`preserve_formatting`), ODS
through ezodf; then it checks those cells as it checks a CSV file's. The portal
reads them the same way, so that the verdict is the same, with one addition:
a workbook whose first sheet is not the data (a notice, a pivot table) may name
the data's sheet like the data model ("prenoms", "Subventions"…); that sheet is
then read instead.

Both formats are ZIP archives: the archive's declared sizes are checked before
anything is unpacked, so that a small file cannot expand without bound.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any

from frictionless import formats, resources
from lxml import etree

XLSX, ODS = "xlsx", "ods"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# Unpacked, a spreadsheet's XML is often 10 to 20 times its ZIP's size.
MAX_UNPACKED = 512 * 1024 * 1024
MAX_MEMBERS = 10_000
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


class SpreadsheetError(ValueError):
    """A spreadsheet that cannot be read; `code` is the report's error code."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code, self.params = code, params


@dataclass
class Sheet:
    kind: str
    name: str
    header: list[Any]
    rows: list[list[Any]]


def kind_of(content: bytes) -> str | None:
    """xlsx or ods for a spreadsheet of those formats, None for anything else."""
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return XLSX
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                return ODS
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return None
    return None


def _check_archive(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SpreadsheetError("unreadable", note=str(error)[:200]) from error
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise SpreadsheetError("spreadsheet-too-large", limit=MAX_UNPACKED)


def sheet_names(content: bytes, kind: str) -> list[str]:
    """The workbook's sheets, in their order, without reading their cells."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        if kind == XLSX:
            root = etree.fromstring(archive.read("xl/workbook.xml"), etree.XMLParser(resolve_entities=False))
            return [s.get("name") or "" for s in root.iter(f"{{{MAIN_NS}}}sheet")]
        names = []
        with archive.open("content.xml") as stream:
            table = f"{{{TABLE_NS}}}table"
            for _event, element in etree.iterparse(stream, events=("start",), resolve_entities=False):
                if element.tag == table:
                    names.append(element.get(f"{{{TABLE_NS}}}name") or "")
        return names


def _normal(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower())


def choose_sheet(names: list[str], wanted: list[str]) -> int:
    """The 1-based position of the sheet named like the model, or 1 (the first sheet)."""
    targets = {_normal(w) for w in wanted if w and _normal(w)}
    for position, name in enumerate(names, start=1):
        if _normal(name) in targets:
            return position
    return 1


def read(content: bytes, kind: str, wanted: list[str] | None = None) -> Sheet:
    """The chosen sheet's header and rows, cells as Validata reads them."""
    _check_archive(content)
    try:
        names = sheet_names(content, kind)
    except (KeyError, etree.LxmlError, zipfile.BadZipFile, OSError) as error:
        raise SpreadsheetError("unreadable", note=str(error)[:200]) from error
    if not names:
        raise SpreadsheetError("empty")
    position = choose_sheet(names, wanted or [])
    if kind == XLSX:
        control: Any = formats.ExcelControl(sheet=position, preserve_formatting=True)
    else:
        control = formats.OdsControl(sheet=position)
    table = resources.TableResource(data=content, format=kind, control=control)
    try:
        with table:
            lines = [list(cells) for cells in table.read_cells()]
    except Exception as error:  # frictionless wraps the readers' own errors in its own
        raise SpreadsheetError("unreadable", note=str(error)[:200]) from error
    if not lines or not any(cell not in (None, "") for cell in lines[0]):
        raise SpreadsheetError("empty")
    return Sheet(kind=kind, name=names[position - 1], header=lines[0], rows=lines[1:])

"""Checking a CSV file, as French communes really write them, against a Table Schema.

Files come in UTF-8 or Windows-1252, with or without a byte order mark,
separated by commas or semicolons. Encoding and separator are detected here;
frictionless then checks the rows against the schema. Nothing here knows about
CKAN: the input is bytes, the output a report made of plain data, whose errors
are codes with parameters so that the portal words them in the reader's
language (see validation.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from frictionless import Dialect, formats

from ckanext.mel import checks
from ckanext.mel.checks import custom, headers, spreadsheets

MAX_ERRORS = 100
DELIMITERS = (";", ",", "\t", "|")
MAGIC = {
    b"PK\x03\x04": "zip",  # also XLSX and ODS
    b"%PDF": "pdf",
    b"\xd0\xcf\x11\xe0": "xls",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"\x1f\x8b": "gzip",
}
csv.field_size_limit(10 * 1024 * 1024)


@dataclass(frozen=True)
class Limits:
    """What is refused before parsing: beyond these, a checker's time and memory grow too fast.

    `max_rows` is for checks done while the uploader waits: a longer file is not
    refused, it is left to the background check (the report's status is "deferred").
    """

    max_columns: int = 500
    max_line_length: int = 1024 * 1024
    max_cell_length: int = 100 * 1024
    max_rows: int | None = None


@dataclass
class Report:
    """The outcome of a check; `status` is valid, invalid or error (could not be checked)."""

    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    rows: int | None = None
    encoding: str | None = None
    bom: bool = False
    delimiter: str | None = None
    bbox: list[float] | None = None
    points: int = 0
    seconds: float = 0.0
    # Columns out of order, extra or optional and missing: shown, never invalid (checks/headers.py).
    warnings: list[dict[str, Any]] = field(default_factory=list)
    file_format: str = "csv"
    sheet: str | None = None
    # Points left out of the bounding box: outside the area the rows should be in.
    points_outside: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": self.errors,
            "error_count": self.error_count,
            "errors_truncated": self.error_count > len(self.errors),
            "rows": self.rows,
            "encoding": self.encoding,
            "bom": self.bom,
            "delimiter": self.delimiter,
            "bbox": self.bbox,
            "points": self.points,
            "seconds": round(self.seconds, 3),
            "warnings": self.warnings,
            "format": self.file_format,
            "sheet": self.sheet,
            "points_outside": self.points_outside,
        }


def failure(code: str, **params: Any) -> Report:
    """A file that could not be checked at all."""
    return Report(status="error", errors=[{"code": code, **params}], error_count=1)


def check(
    content: bytes,
    schema: dict[str, Any],
    coordinates: tuple[str, str] | None = None,
    limits: Limits | None = None,
    sheet_names: list[str] | None = None,
    area: list[float] | None = None,
) -> Report:
    """Check a CSV, XLSX or ODS file against a Table Schema descriptor.

    `coordinates` names the latitude and longitude columns: the report of a
    valid file then carries the bounding box of its points, those inside `area`
    ([west, south, east, north]) if given. `sheet_names` are the names a
    spreadsheet's sheet may have to be read rather than the first one.
    """
    started = time.monotonic()
    kind = spreadsheets.kind_of(content)
    field_size_limit = csv.field_size_limit()  # the check lowers it to the cell limit
    try:
        if kind is not None:
            report = _check_spreadsheet(
                content, kind, schema, coordinates, limits or Limits(), sheet_names, area
            )
        else:
            report = _check(content, schema, coordinates, limits or Limits(), area)
    finally:
        csv.field_size_limit(field_size_limit)
    report.seconds = time.monotonic() - started
    return report


def _check(
    content: bytes,
    schema: dict[str, Any],
    coordinates: tuple[str, str] | None,
    limits: Limits,
    area: list[float] | None = None,
) -> Report:
    problem = _not_csv_text(content) or _over_line_limits(content, limits)
    if problem:
        return problem
    decoded = decode(content)
    if isinstance(decoded, Report):
        return decoded
    text, encoding, bom = decoded
    del content  # the text is all that is read from here on
    if not text.strip():
        return failure("empty")

    field_names = [f["name"] for f in schema.get("fields", [])]
    delimiter = detect_delimiter(text, field_names)
    problem = _over_cell_limits(text, delimiter, len(field_names), limits)
    if problem:
        return problem
    header = headers.clean_header(_header(text, delimiter))
    if headers.duplicates(header):
        return _invalid(headers.duplicates(header), encoding=encoding, bom=bom, delimiter=delimiter)
    try:
        outcome, before = checks.validate(
            schema,
            MAX_ERRORS + 1,
            header,
            data=text.encode("utf-8"),
            format="csv",
            encoding="utf-8",
            dialect=Dialect(controls=[formats.CsvControl(delimiter=delimiter)]),
        )
    except custom.UnsupportedCheck as error:
        return failure("unsupported-check", name=error.name)
    except MemoryError:
        raise  # the check process reports it (check_process.py)
    except Exception as error:  # frictionless raises on sources it cannot parse at all
        return failure("unreadable", note=str(error)[:300])

    task = outcome.tasks[0]
    errors = before + _errors(task.errors, schema)
    if _looks_truncated(text, delimiter):
        errors.append({"code": "truncated"})
    report = Report(
        status="valid" if outcome.valid and not errors else "invalid",
        errors=errors[:MAX_ERRORS],
        error_count=len(errors),
        rows=max((task.stats.get("rows") or 0), 0),
        encoding=encoding,
        bom=bom,
        delimiter=delimiter,
        warnings=headers.warnings(header, schema),
    )
    if report.status == "valid" and coordinates:
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
        report.bbox, report.points, report.points_outside = _points(reader, *coordinates, area)
    return report


def _invalid(errors: list[dict[str, Any]], **fields: Any) -> Report:
    return Report(status="invalid", errors=errors, error_count=len(errors), **fields)


def _header(text: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])


def _check_spreadsheet(
    content: bytes,
    kind: str,
    schema: dict[str, Any],
    coordinates: tuple[str, str] | None,
    limits: Limits,
    sheet_names: list[str] | None,
    area: list[float] | None,
) -> Report:
    """An XLSX or ODS file: its sheet's cells checked as a CSV file's rows are (checks/spreadsheets.py)."""
    try:
        sheet = spreadsheets.read(content, kind, sheet_names)
    except spreadsheets.SpreadsheetError as error:
        return failure(error.code, **error.params)
    if len(sheet.header) > limits.max_columns:
        columns, expected = len(sheet.header), len(schema.get("fields", []))
        return failure("too-many-columns", columns=columns, expected=expected, limit=limits.max_columns)
    if limits.max_rows is not None and len(sheet.rows) > limits.max_rows:
        return Report(status="deferred")
    header = headers.clean_header(sheet.header)
    if headers.duplicates(header):
        return _invalid(headers.duplicates(header), file_format=kind, sheet=sheet.name)
    try:
        outcome, before = checks.validate(schema, MAX_ERRORS + 1, header, data=[header, *sheet.rows])
    except custom.UnsupportedCheck as error:
        return failure("unsupported-check", name=error.name)
    except MemoryError:
        raise  # the check process reports it (check_process.py)
    except Exception as error:
        return failure("unreadable", note=str(error)[:300])
    task = outcome.tasks[0]
    errors = before + _errors(task.errors, schema)
    report = Report(
        status="valid" if outcome.valid and not errors else "invalid",
        errors=errors[:MAX_ERRORS],
        error_count=len(errors),
        rows=max((task.stats.get("rows") or 0), 0),
        warnings=headers.warnings(header, schema),
        file_format=kind,
        sheet=sheet.name,
    )
    if report.status == "valid" and coordinates:
        rows = iter([header, *sheet.rows])
        report.bbox, report.points, report.points_outside = _points(rows, *coordinates, area)
    return report


def _not_csv_text(content: bytes) -> Report | None:
    if not content.strip(b"\xef\xbb\xbf \t\r\n"):
        return failure("empty")
    for magic, kind in MAGIC.items():
        if content.startswith(magic):
            return failure("not-text", kind=kind)
    start = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:14].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return failure("not-text", kind="html")  # a link that answers with a web page
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if b"\x00" in content[:8192]:
        return failure("not-text", kind="binary")
    return None


def _over_line_limits(content: bytes, limits: Limits) -> Report | None:
    """A line too long, or too many lines for a check while the uploader waits, before any parsing."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None  # two bytes a character: checked once decoded, cell by cell
    lf = b"\n" if b"\n" in content or b"\r" not in content else b"\r"  # CR alone: old Mac exports
    start, line = 0, 1
    while start < len(content):
        end = content.find(lf, start)
        end = len(content) if end < 0 else end
        if end - start > limits.max_line_length:
            return failure("line-too-long", line=line, limit=limits.max_line_length)
        start, line = end + 1, line + 1
        if limits.max_rows is not None and line > limits.max_rows + 1:
            return Report(status="deferred")
    return None


def _over_cell_limits(text: str, delimiter: str, expected: int, limits: Limits) -> Report | None:
    """Too many columns, a cell too long, a NUL character or a quote never closed, found with the
    csv module alone: frictionless's time and memory grow far faster than the file on such input.

    The csv module's field size limit stays at the cell limit for the check that follows.
    """
    csv.field_size_limit(limits.max_cell_length)
    nul = text.find("\x00")
    if nul >= 0:
        return failure("nul-byte", line=_line_of(text, nul))
    for strict in (True, False):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
        start = 1
        try:
            for row in reader:
                if len(row) > limits.max_columns:
                    return failure(
                        "too-many-columns", columns=len(row), expected=expected, limit=limits.max_columns
                    )
                start = reader.line_num + 1
        except csv.Error as error:
            if "field limit" in str(error):
                return failure("cell-too-long", line=reader.line_num, limit=limits.max_cell_length)
            if strict and "unexpected end of data" in str(error):
                return failure("unterminated-quote", line=start)
            if strict:
                continue  # a stray quote inside a cell: frictionless reports it; limits read leniently
            return failure("unreadable", note=str(error)[:300])
        return None
    return None


def _line_of(text: str, position: int) -> int:
    lf = "\n" if "\n" in text or "\r" not in text else "\r"
    return text.count(lf, 0, position) + 1


def decode(content: bytes) -> tuple[str, str, bool] | Report:
    """The text, its encoding and whether it had a byte order mark.

    UTF-8 is tried first: a Windows-1252 file is almost never valid UTF-8. A file
    that is valid UTF-8 in parts and not in others mixes encodings: reading it
    either way would garble some names, so it is reported instead.
    """
    if content.startswith(codecs.BOM_UTF8):
        encoding, bom, body = "utf-8", True, content[len(codecs.BOM_UTF8) :]
    elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16"), "utf-16", True
        except UnicodeDecodeError:
            return failure("encoding", line=1)
    else:
        encoding, bom, body = "utf-8", False, content
    try:
        return body.decode("utf-8"), encoding, bom
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        if bom or _has_utf8_sequences(body[: error.start]):
            if error.reason == "unexpected end of data":
                return failure("truncated", line=line)
            return failure("encoding", line=line)
    try:
        return body.decode("cp1252"), "windows-1252", False
    except UnicodeDecodeError:
        return body.decode("latin-1"), "iso-8859-1", False


def _has_utf8_sequences(prefix: bytes) -> bool:
    """Whether valid non-ASCII UTF-8 appears in bytes known to decode as UTF-8."""
    return any(byte >= 0x80 for byte in prefix)


def detect_delimiter(text: str, field_names: list[str]) -> str:
    """The separator that splits the header into the most of the model's column names."""
    # The first line only, without splitting the whole file into lines.
    stripped = text.lstrip("\ufeff")
    ends = [i for i in (stripped.find("\n"), stripped.find("\r")) if i >= 0]
    header = stripped[: min(ends)] if ends else stripped
    names = set(field_names)

    def score(delimiter: str) -> tuple[int, int]:
        try:
            cells = [c.strip().strip('"') for c in next(csv.reader([header], delimiter=delimiter), [])]
        except csv.Error:  # split by the wrong separator, the header is one cell past the limit
            return 0, 0
        return len(names.intersection(cells)), len(cells)

    return max(DELIMITERS, key=score)


def _looks_truncated(text: str, delimiter: str) -> bool:
    """A last line without end of line and with fewer cells than the header."""
    if text.endswith(("\n", "\r")):
        return False
    # The first and last lines only, without splitting the whole file into lines.
    first_end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
    if first_end < 0:
        return False
    last_start = max(text.rfind("\n"), text.rfind("\r")) + 1
    try:
        rows = list(csv.reader([text[:first_end], text[last_start:]], delimiter=delimiter))
    except csv.Error:
        return False
    return len(rows) == 2 and len(rows[1]) < len(rows[0])


def _errors(found: list[Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """frictionless errors as codes and parameters; a missing cell is not also "required"."""
    fields = {f["name"]: f for f in schema.get("fields", [])}
    missing = {(e.row_number, e.field_name) for e in found if e.type == "missing-cell"}
    errors = []
    for error in found:
        entry: dict[str, Any] = {"code": error.type}
        row = getattr(error, "row_number", None)
        if row is not None:
            entry["line"] = row
        name = getattr(error, "field_name", None) or ""
        if name:
            entry["column"] = name
        position = getattr(error, "field_number", None)
        if position:
            entry["position"] = position
        label = getattr(error, "label", None)
        if label is not None and error.type.endswith("-label"):
            entry["label"] = label
        cell = getattr(error, "cell", None)
        if cell not in (None, ""):
            entry["value"] = str(cell)[:100]
        if error.type in (custom.CELL_ERROR, custom.ROW_ERROR):
            errors.append(_custom_error(entry, error))
            continue
        if error.type == "constraint-error":
            constraint = _constraint(error.note)
            if constraint == "required" and (row, name) in missing:
                continue
            entry["constraint"] = constraint
            entry.update(_expected(fields.get(name, {}), constraint))
        elif error.type == "type-error":
            spec = fields.get(name, {})
            entry["type"] = spec.get("type", "string")
            if spec.get("format") not in (None, "default"):
                entry["format"] = spec["format"]
            entry.update(_example(spec))
        elif error.type not in KNOWN_CODES:
            entry["note"] = (error.note or error.message)[:300]
        errors.append(entry)
    return errors


def _custom_error(entry: dict[str, Any], error: Any) -> dict[str, Any]:
    """A custom check's error (checks/custom.py): its code is the check's name."""
    entry["code"] = error.note
    if error.type == custom.ROW_ERROR:
        entry["column"] = error.columns[0]
        entry["columns"] = error.columns
        if error.missing:
            entry["code"] = "one-of-required-columns"
            entry.pop("line", None)
    return entry


KNOWN_CODES = {
    "blank-label",
    "duplicate-label",
    "extra-label",
    "incorrect-label",
    "missing-label",
    "blank-row",
    "extra-cell",
    "missing-cell",
    "type-error",
    "constraint-error",
    "unique-error",
    "primary-key",
}


def _constraint(note: str) -> str:
    # frictionless words it: constraint "pattern" is "..."
    parts = (note or "").split('"')
    return parts[1] if len(parts) > 1 else "other"


def _expected(spec: dict[str, Any], constraint: str) -> dict[str, Any]:
    value = spec.get("constraints", {}).get(constraint)
    if constraint == "enum":
        return {"expected": [str(v) for v in value or []]}
    if constraint in ("minimum", "maximum", "minLength", "maxLength"):
        return {"expected": value}
    if constraint == "pattern":
        return _example(spec)
    return {}


def _example(spec: dict[str, Any]) -> dict[str, Any]:
    example = spec.get("examples") or spec.get("example")
    if isinstance(example, list):
        example = example[0] if example else None
    return {"example": str(example)} if example not in (None, "") else {}


def bounding_box(text: str, delimiter: str, latitude: str, longitude: str) -> tuple[list[float] | None, int]:
    """[west, south, east, north] of the rows' WGS84 points, and how many points there were."""
    # newline="": lines may end with CR alone (old Mac exports), or differently from line to line.
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    bbox, points, _outside = _points(reader, latitude, longitude)
    return bbox, points


def _points(
    rows: Iterator[list[Any]], latitude: str, longitude: str, area: list[float] | None = None
) -> tuple[list[float] | None, int, int]:
    """The box around the rows' points, how many are in it, and how many were left out.

    Columns are found by name. A point outside `area` ([west, south, east, north])
    is left out and counted: latitude and longitude swapped, a point of another
    town. Cells that are not coordinates are not points at all.
    """
    header = [str(cell).strip() if cell is not None else "" for cell in next(rows, [])]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if latitude not in header or longitude not in header:
        return None, 0, 0
    lat_index, lon_index = header.index(latitude), header.index(longitude)
    west = south = float("inf")
    east = north = float("-inf")
    points = outside = 0
    for row in rows:
        try:
            lat, lon = float(row[lat_index]), float(row[lon_index])
        except (IndexError, TypeError, ValueError):
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            continue
        if area is not None and not (area[0] <= lon <= area[2] and area[1] <= lat <= area[3]):
            outside += 1
            continue
        west, east = min(west, lon), max(east, lon)
        south, north = min(south, lat), max(north, lat)
        points += 1
    if not points:
        return None, 0, outside
    return [west, south, east, north], points, outside

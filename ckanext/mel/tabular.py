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
from dataclasses import dataclass, field
from typing import Any

from frictionless import Dialect, Resource, Schema, formats

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
        }


def failure(code: str, **params: Any) -> Report:
    """A file that could not be checked at all."""
    return Report(status="error", errors=[{"code": code, **params}], error_count=1)


def check(
    content: bytes,
    schema: dict[str, Any],
    coordinates: tuple[str, str] | None = None,
) -> Report:
    """Check a CSV file against a Table Schema descriptor.

    `coordinates` names the latitude and longitude columns: the report of a
    valid file then carries the bounding box of its points.
    """
    started = time.monotonic()
    report = _check(content, schema, coordinates)
    report.seconds = time.monotonic() - started
    return report


def _check(content: bytes, schema: dict[str, Any], coordinates: tuple[str, str] | None) -> Report:
    problem = _not_csv_text(content)
    if problem:
        return problem
    decoded = decode(content)
    if isinstance(decoded, Report):
        return decoded
    text, encoding, bom = decoded
    if not text.strip():
        return failure("empty")

    field_names = [f["name"] for f in schema.get("fields", [])]
    delimiter = detect_delimiter(text, field_names)
    resource = Resource(
        data=text.encode("utf-8"),
        format="csv",
        encoding="utf-8",
        schema=Schema.from_descriptor(schema),
        dialect=Dialect(controls=[formats.CsvControl(delimiter=delimiter)]),
    )
    try:
        outcome = resource.validate(limit_errors=MAX_ERRORS + 1)
    except Exception as error:  # frictionless raises on sources it cannot parse at all
        return failure("unreadable", note=str(error)[:300])

    task = outcome.tasks[0]
    errors = _errors(task.errors, schema)
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
    )
    if report.status == "valid" and coordinates:
        report.bbox, report.points = bounding_box(text, delimiter, *coordinates)
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
    header = text.lstrip("\ufeff").splitlines()[0] if text else ""
    names = set(field_names)

    def score(delimiter: str) -> tuple[int, int]:
        cells = [c.strip().strip('"') for c in next(csv.reader([header], delimiter=delimiter), [])]
        return len(names.intersection(cells)), len(cells)

    return max(DELIMITERS, key=score)


def _looks_truncated(text: str, delimiter: str) -> bool:
    """A last line without end of line and with fewer cells than the header."""
    if text.endswith(("\n", "\r")):
        return False
    lines = text.splitlines()
    if len(lines) < 2:
        return False
    rows = list(csv.reader([lines[0], lines[-1]], delimiter=delimiter))
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
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    header = [cell.strip() for cell in next(reader, [])]
    if latitude not in header or longitude not in header:
        return None, 0
    lat_index, lon_index = header.index(latitude), header.index(longitude)
    west = south = float("inf")
    east = north = float("-inf")
    points = 0
    for row in reader:
        try:
            lat, lon = float(row[lat_index]), float(row[lon_index])
        except (IndexError, ValueError):
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
            continue
        west, east = min(west, lon), max(east, lon)
        south, north = min(south, lat), max(north, lat)
        points += 1
    if not points:
        return None, 0
    return [west, south, east, north], points

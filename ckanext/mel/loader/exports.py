"""Exports of a loaded table: CSV, CSV for a French spreadsheet, JSON, GeoJSON and XLSX.

Rows are streamed from the DataStore's read-only database with a server-side
cursor, in the table's order: memory stays flat whatever the table's size
(XLSX, a zip, is written to a temporary file first). The plain CSV follows the
data model's own formats (comma, UTF-8, ISO dates, point decimals): it is a
file that validates against the model. The French-spreadsheet variant is what
French Excel and LibreOffice open without an import dialog: semicolons, a UTF-8
byte order mark and decimal commas. CKAN's own /datastore/dump/<id> stays.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint, Response, send_file, stream_with_context

from ckanext.datastore.backend.postgres import get_read_engine, identifier
from ckanext.mel import datamodels
from ckanext.mel.loader import fields
from ckanext.mel.loader.state import LOADED, DatastoreLoad

exports = Blueprint("mel_exports", __name__)

FORMATS = {
    # key: (file extension, media type)
    "csv": ("csv", "text/csv; charset=utf-8"),
    "csv-excel": ("csv", "text/csv; charset=utf-8"),
    "json": ("json", "application/json"),
    "geojson": ("geojson", "application/geo+json"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
NUMERIC = {"numeric", "float8", "int4", "int8", "int2", "float4"}


def labels() -> dict[str, str]:
    _ = tk._
    return {
        "csv": _("CSV"),
        "csv-excel": _("CSV for Excel (French)"),
        "json": _("JSON"),
        "geojson": _("GeoJSON"),
        "xlsx": _("Excel (XLSX)"),
    }


def coordinates_of(data_model: datamodels.DataModel) -> tuple[str, str] | None:
    return fields.coordinate_columns(data_model.schema(), data_model.coordinates)


def available(with_map: bool) -> list[dict[str, str]]:
    names = labels()
    return [{"format": key, "label": names[key]} for key in FORMATS if key != "geojson" or with_map]


@exports.route("/dataset/<id>/resource/<resource_id>/export/<fmt>")
def export(id: str, resource_id: str, fmt: str):
    if fmt not in FORMATS:
        return tk.abort(404, tk._("Unknown export format: {format}.").format(format=fmt))
    resource = model.Resource.get(resource_id)
    package = model.Package.get(id)
    if resource is None or package is None or resource.package_id != package.id or resource.state != "active":
        return tk.abort(404, tk._("Resource not found"))
    context = {"user": tk.current_user.name if tk.current_user.is_authenticated else ""}
    try:
        info = tk.get_action("datastore_search")(context, {"resource_id": resource_id, "limit": 0})
    except tk.NotAuthorized:
        return tk.abort(403, tk._("You are not allowed to read this resource."))
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("This file's data is not in the API."))
    state = DatastoreLoad.get(resource_id)
    data_model = datamodels.get(state.data_model) if state is not None and state.status == LOADED else None
    if data_model is None:
        return tk.abort(404, tk._("This file's data is not in the API."))
    columns = [(f["id"], f["type"]) for f in info["fields"] if f["id"] != "_id"]
    coordinates = coordinates_of(data_model)
    if fmt == "geojson" and coordinates is None:
        return tk.abort(404, tk._("This file's rows have no coordinates: there is no GeoJSON export."))
    if fmt == "xlsx" and info.get("total", 0) > XLSX_MAX_ROWS:
        return tk.abort(
            413, tk._("The table has more rows than a spreadsheet holds: download the CSV instead.")
        )
    extension, media_type = FORMATS[fmt]
    stem = _file_stem(resource)
    filename = f"{stem}-excel.{extension}" if fmt == "csv-excel" else f"{stem}.{extension}"
    rows = _rows(resource_id, [name for name, _type in columns])
    writers = cell_writers(data_model.schema(), columns)
    if fmt == "xlsx":
        return send_file(
            _xlsx(columns, rows), mimetype=media_type, as_attachment=True, download_name=filename
        )
    if fmt == "json":
        chunks = json_chunks(columns, rows)
    elif fmt == "geojson" and coordinates is not None:
        chunks = geojson_chunks(columns, rows, coordinates)
    else:
        excel = fmt == "csv-excel"
        chunks = csv_lines(columns, rows, ";" if excel else ",", french=excel, writers=writers)
    response = Response(stream_with_context(chunks), mimetype=media_type.split(";")[0])
    response.headers["Content-Type"] = media_type
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _file_stem(resource: model.Resource) -> str:
    name = os.path.splitext(resource.name or "")[0] or resource.id
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or resource.id


def _rows(resource_id: str, names: list[str], batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The table's rows in order, from a server-side cursor of the read-only database."""
    connection = get_read_engine().raw_connection()
    try:
        cursor = connection.cursor(name="mel_export")
        cursor.itersize = batch
        columns = ", ".join(identifier(name) for name in names)
        cursor.execute(f"SELECT {columns} FROM {identifier(resource_id)} ORDER BY _id")
        yield from cursor
        cursor.close()
    finally:
        connection.rollback()
        connection.close()


def cell_writers(schema: dict[str, Any], columns: list[tuple[str, str]]) -> list[Any]:
    """For each column, how the data model writes its values (booleans as "oui"/"non" where the
    model says so, its date formats…), so that the CSV export follows the model again."""
    from frictionless import Field

    specs = {spec["name"]: spec for spec in schema.get("fields", [])}
    writers: list[Any] = []
    for name, _type in columns:
        spec = specs.get(name)
        if spec is None or spec.get("type") == "geopoint":
            writers.append(None)
            continue
        field = Field.from_descriptor({key: spec[key] for key in spec if key not in ("constraints",)})
        writers.append(field.write_cell)
    return writers


def _text(value: Any, column_type: str, french: bool = False, writer: Any = None) -> str:
    if value is None:
        return ""
    if writer is not None:
        cell, _notes = writer(value)
        if cell is not None:
            if french:
                return cell.replace(".", ",") if column_type in NUMERIC else _neutral(cell, column_type)
            return cell
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    if french and column_type in NUMERIC:
        text = text.replace(".", ",")
    return _neutral(text, column_type) if french else text


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutral(text: str, column_type: str) -> str:
    """A text cell that a spreadsheet would run as a formula, made plain text (OWASP's CSV injection)."""
    return "'" + text if column_type == "text" and text.startswith(FORMULA_START) else text


def csv_lines(
    columns: list[tuple[str, str]],
    rows: Iterator[tuple[Any, ...]],
    delimiter: str,
    french: bool = False,
    writers: list[Any] | None = None,
) -> Iterator[str]:
    writers = writers or [None] * len(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([name for name, _type in columns])
    yield ("\ufeff" if french else "") + _drain(buffer)
    for count, row in enumerate(rows, 1):
        writer.writerow(
            [
                _text(value, kind, french, cell_writer)
                for value, (_name, kind), cell_writer in zip(row, columns, writers, strict=True)
            ]
        )
        if count % 1000 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def _record(columns: list[tuple[str, str]], row: tuple[Any, ...]) -> dict[str, Any]:
    return {name: _json_value(value) for (name, _type), value in zip(columns, row, strict=True)}


def json_chunks(columns: list[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    yield "["
    for count, row in enumerate(rows):
        yield ("," if count else "") + "\n" + json.dumps(_record(columns, row), ensure_ascii=False)
    yield "\n]\n"


def geojson_chunks(
    columns: list[tuple[str, str]], rows: Iterator[tuple[Any, ...]], coordinates: tuple[str, str]
) -> Iterator[str]:
    """A FeatureCollection of points (WGS84, longitude first); rows without a position have none."""
    latitude, longitude = coordinates
    yield '{"type": "FeatureCollection", "features": ['
    for count, row in enumerate(rows):
        properties = _record(columns, row)
        lat, lon = properties.get(latitude), properties.get(longitude)
        geometry = (
            {"type": "Point", "coordinates": [float(lon), float(lat)]}
            if lat is not None and lon is not None
            else None
        )
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        yield ("," if count else "") + "\n" + json.dumps(feature, ensure_ascii=False)
    yield "\n]}\n"


def _xlsx(columns: list[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> Any:
    """A typed worksheet: numbers, dates and booleans as Excel cells, not text."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append([name for name, _type in columns])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    workbook.save(output)
    output.seek(0)
    return output


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """Typed cells; a text that starts like a formula stays text (openpyxl would write a formula)."""
    from openpyxl.cell import WriteOnlyCell

    value = _xlsx_value(value)
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, datetime.time):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value

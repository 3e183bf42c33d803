"""A data model's Table Schema as DataStore columns, and its values as Python values.

The model says what each column is: an integer column is a PostgreSQL integer,
a date a date, never guessed from the file and never all text. A `geopoint`
column becomes two numeric columns, `<name>_lat` and `<name>_lon`, so that the
API can filter and sort on them like on a model's latitude and longitude.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

# Table Schema type -> DataStore (PostgreSQL) type.
TYPES = {
    "string": "text",
    "integer": "int8",
    "number": "numeric",
    "boolean": "bool",
    "date": "date",
    "datetime": "timestamp",
    "time": "time",
    "year": "int4",
    "yearmonth": "text",
    "duration": "text",
    "object": "json",
    "array": "json",
    "geojson": "json",
    "any": "text",
}
# Latitudes and longitudes are read by maps and GeoJSON as floats.
COORDINATE_TYPE = "float8"


@dataclass(frozen=True)
class Column:
    id: str
    type: str
    source: str  # the Table Schema field it comes from
    part: int | None = None  # for a geopoint: 0 latitude, 1 longitude
    label: str = ""
    notes: str = ""

    def as_field(self) -> dict[str, Any]:
        field: dict[str, Any] = {"id": self.id, "type": self.type}
        info = {key: value for key, value in (("label", self.label), ("notes", self.notes)) if value}
        if info:
            field["info"] = info
        return field


def columns(schema: dict[str, Any], coordinates: tuple[str, str] | None = None) -> list[Column]:
    """The DataStore columns of a model, in the model's order."""
    coordinate_names = set(coordinates or ())
    result = []
    for spec in schema.get("fields", []):
        name, kind = spec["name"], spec.get("type", "string")
        label, notes = spec.get("title", ""), spec.get("description", "")
        if kind == "geopoint":
            for part, suffix in enumerate(("lat", "lon")):
                result.append(Column(f"{name}_{suffix}", COORDINATE_TYPE, name, part, label, notes))
            continue
        column_type = COORDINATE_TYPE if name in coordinate_names else TYPES.get(kind, "text")
        result.append(Column(name, column_type, name, None, label, notes))
    return result


def coordinate_columns(schema: dict[str, Any], coordinates: tuple[str, str] | None) -> tuple[str, str] | None:
    """The (latitude, longitude) columns of the table, if its rows have a position."""
    if coordinates:
        return coordinates
    for spec in schema.get("fields", []):
        if spec.get("type") == "geopoint":
            return f"{spec['name']}_lat", f"{spec['name']}_lon"
    return None


def values(row: dict[str, Any], table: list[Column]) -> dict[str, Any]:
    """A frictionless row (cells already typed by the schema) as a DataStore record."""
    record = {}
    for column in table:
        value = row.get(column.source)
        if column.part is not None:
            value = _geopoint(value, column.part)
        elif value is not None:
            value = _cell(value, column.type)
        record[column.id] = value
    return record


def _cell(value: Any, column_type: str) -> Any:
    if column_type == COORDINATE_TYPE:
        return float(value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)  # stored as UTC
    if column_type == "text" and not isinstance(value, str):
        if hasattr(value, "year") and hasattr(value, "month"):  # a yearmonth
            return f"{value.year:04d}-{value.month:02d}"
        return str(value)
    return value


def _geopoint(value: Any, part: int) -> float | None:
    """frictionless reads a geopoint as (longitude, latitude)."""
    if value is None:
        return None
    lon, lat = value[0], value[1]
    return float(lat if part == 0 else lon)

"""Columns matched by their name, as Validata matches them.

Validata (validata-table 0.13.0) reads a file's columns by the name in its
header, never by position (frictionless' `schema_sync`), and compares names
case-sensitively by default (its "ignore header case" option is off unless the
user ticks it). So:

- a column of the model missing from the file is an error if the model requires
  it (one error, naming it: frictionless' `missing-label`), a warning otherwise;
- a column the model does not have is a warning, and its cells are not checked;
- the model's columns in another order are a warning;
- every cell is checked against the column whose name it is under.

The warnings are shown in the report; they never make a file invalid.
"""

from __future__ import annotations

from typing import Any

MISSING_OPTIONAL = "missing-optional-column"
EXTRA = "extra-column"
DISORDERED = "disordered-columns"


def clean_header(labels: list[Any]) -> list[str]:
    """The header as Validata compares it: text, without a leading byte order mark."""
    header = ["" if label is None else str(label) for label in labels]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    return header


def duplicates(header: list[str]) -> list[dict[str, Any]]:
    """A name given to two columns: the file cannot be read by name (Validata: "En-têtes dupliquées")."""
    seen: set[str] = set()
    repeated = []
    for label in header:
        if label in seen and label not in repeated:
            repeated.append(label)
        seen.add(label)
    return [{"code": "duplicate-label", "label": label} for label in repeated]


def warnings(header: list[str], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The header's warnings against the schema, in Validata's order."""
    fields = schema.get("fields") or []
    names = [f["name"] for f in fields]
    required = {f["name"] for f in fields if (f.get("constraints") or {}).get("required")}
    found: list[dict[str, Any]] = []
    for name in names:
        if name not in header and name not in required:
            found.append({"code": MISSING_OPTIONAL, "column": name})
    for label in header:
        if label not in names:
            found.append({"code": EXTRA, "label": label})
    if set(header) == set(names) and header != names:
        found.append({"code": DISORDERED, "expected": names})
    return found

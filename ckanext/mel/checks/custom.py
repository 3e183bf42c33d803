"""The `custom_checks` of the official schemas, with Validata's semantics.

A schema lists them at its top level (`"custom_checks": [{"name": ..., "params":
{...}}]`) or on a field (`"customCheck"`). Validata (validata-table 0.13.0)
runs them row by row next to the Table Schema rules; so does the portal, as
frictionless checks. The verdict of each one is Validata's:

- `french-siret-value` (also `siret`) and `french-siren-value` (`siren`):
  python-stdnum's `is_valid`, which frformat (Validata's French formats)
  calls: digits only once spaces and dots are removed, the right length, the
  Luhn checksum (La Poste's establishments: the sum of digits a multiple of 5).
- `one-of-required`: on each row, `column1` or `column2` has a value; if only
  one of the two columns is in the file, each row needs a value in it; if both
  are missing, one error for the file.
- `opening-hours-value`: the OpenStreetMap `opening_hours` syntax, checked by
  the library Validata uses (opening-hours-py).

An empty cell is never checked by a single-column check: whether a value is
required is the schema's `required` constraint. A check whose column is not in
the file is skipped, as in Validata. A check the portal does not know makes the
file "could not be checked": Validata would reject the file too, and only the
MEL team can fix the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import opening_hours
import stdnum.fr.siren
import stdnum.fr.siret
from frictionless import Check, errors

CELL_ERROR = "custom-check-error"
ROW_ERROR = "custom-check-row-error"


class UnsupportedCheck(ValueError):
    """A schema declares a custom check the portal does not run."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@attrs.define(kw_only=True, repr=False)
class CustomCheckError(errors.CellError):
    """A cell that fails a custom check; `note` is the check's name."""

    type = CELL_ERROR
    title = "Custom check error"
    description = "A value does not pass a custom check of the schema."
    template = "The cell {cell} in row {rowNumber} fails the custom check {note}"


@attrs.define(kw_only=True, repr=False)
class CustomCheckRowError(errors.RowError):
    """A row (or, on row 1, the file) that fails a custom check; `note` is the check's name."""

    type = ROW_ERROR
    title = "Custom check error"
    description = "A row does not pass a custom check of the schema."
    template = "Row {rowNumber} fails the custom check {note}"

    columns: list[str] = attrs.field(factory=list)
    missing: list[str] = attrs.field(factory=list)


def _is_opening_hours(value: Any) -> bool:
    return bool(opening_hours.validate(value))


# The single-column checks: the name the schema uses, and whether a value passes.
VALUE_RULES: dict[str, Callable[[Any], bool]] = {
    "french-siret-value": stdnum.fr.siret.is_valid,
    "french-siren-value": stdnum.fr.siren.is_valid,
    "opening-hours-value": _is_opening_hours,
}
# Validata's newer names for the same checks.
ALIASES = {"siret": "french-siret-value", "siren": "french-siren-value"}
SUPPORTED = {*VALUE_RULES, *ALIASES, "one-of-required"}


@attrs.define(kw_only=True, repr=False)
class value_check(Check):  # noqa: N801 (frictionless names its checks in lower case)
    """One column's non-empty values must pass a rule."""

    type = "mel-value-check"
    Errors = [CustomCheckError]

    rule: str
    field_name: str

    def validate_row(self, row: Any) -> Iterator[errors.Error]:
        value = row.get(self.field_name)
        if value is None:
            return
        if not VALUE_RULES[self.rule](value):
            yield CustomCheckError.from_row(row, note=self.rule, field_name=self.field_name)


@attrs.define(kw_only=True, repr=False)
class one_of_required(Check):  # noqa: N801
    """At least one of two columns has a value on each row."""

    type = "mel-one-of-required"
    Errors = [CustomCheckRowError]

    column1: str
    column2: str
    stopped: bool = False

    def validate_row(self, row: Any) -> Iterator[errors.Error]:
        if self.stopped:
            return
        present = set(row.keys())
        missing = [c for c in (self.column1, self.column2) if c not in present]
        columns = [self.column1, self.column2]
        if len(missing) == 2:
            # Reported once, on the first row, as Validata does.
            self.stopped = True
            yield CustomCheckRowError(
                note="one-of-required",
                cells=[],
                row_number=row.row_number,
                columns=columns,
                missing=sorted(missing),
            )
            return
        if not row.get(self.column1) and not row.get(self.column2):
            to_text = lambda v: "" if v is None else str(v)  # noqa: E731
            yield CustomCheckRowError(
                note="one-of-required",
                cells=[to_text(c) for c in row.cells],
                row_number=row.row_number,
                columns=columns,
            )


def declared(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The custom checks a schema declares, at its top level then on its fields."""
    found = []
    for entry in schema.get("custom_checks") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            found.append({"name": entry["name"], "params": dict(entry.get("params") or {})})
    for field in schema.get("fields") or []:
        spec = field.get("customCheck")
        if isinstance(spec, str):
            found.append({"name": spec, "params": {"column": field["name"]}})
        elif isinstance(spec, dict) and isinstance(spec.get("name"), str):
            params = {k: v for k, v in spec.items() if k != "name"}
            found.append({"name": spec["name"], "params": {**params, "column": field["name"]}})
    return found


def unsupported(schema: dict[str, Any]) -> list[str]:
    """The names of the schema's custom checks the portal cannot run."""
    return [c["name"] for c in declared(schema) if not _usable(c)]


def _usable(check: dict[str, Any]) -> bool:
    name, params = check["name"], check["params"]
    if name == "one-of-required":
        return isinstance(params.get("column1"), str) and isinstance(params.get("column2"), str)
    return name in SUPPORTED and isinstance(params.get("column"), str)


def build(schema: dict[str, Any]) -> list[Check]:
    """frictionless checks for the schema's custom checks; UnsupportedCheck for one the portal lacks."""
    checks: list[Check] = []
    for check in declared(schema):
        if not _usable(check):
            raise UnsupportedCheck(check["name"])
        name, params = ALIASES.get(check["name"], check["name"]), check["params"]
        if name == "one-of-required":
            checks.append(one_of_required(column1=params["column1"], column2=params["column2"]))
        else:
            checks.append(value_check(rule=name, field_name=params["column"]))
    return checks


def columns_checked(schema: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(check name, column) for each single-column custom check: what the demo test goes through."""
    for check in declared(schema):
        name = ALIASES.get(check["name"], check["name"])
        if name in VALUE_RULES:
            yield name, check["params"]["column"]

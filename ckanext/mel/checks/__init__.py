"""The checks a data model asks for beyond Table Schema, run as Validata runs them.

Validata is the validator data.gouv.fr runs for the schemas of
schema.data.gouv.fr (validata-table). The portal gives the same verdict on the
same file; the reference for each rule is named in its module:

- custom.py       the schemas' `custom_checks` (SIRET, SIREN, one of two
                  columns required, opening hours);
- headers.py      columns matched by name: what is an error, what is a warning;
- spreadsheets.py XLSX and ODS files read into the rows that are checked.

Nothing here knows about CKAN: tabular.py calls it.
"""

from __future__ import annotations

from typing import Any

from frictionless import Checklist, Detector, Report, Resource, Schema

from ckanext.mel.checks import custom


def validate(
    schema: dict[str, Any], limit_errors: int, header: list[str], **source: Any
) -> tuple[Report, list[dict[str, Any]]]:
    """frictionless' report on a source, its columns matched by name, the custom checks run.

    `source` are frictionless Resource arguments (data, format, encoding, dialect);
    `header` the file's column names. Raises custom.UnsupportedCheck for a custom
    check the portal cannot run. Also returns the errors found before reading rows.
    """
    checklist = Checklist(checks=custom.build(schema))
    schema, before = _without_missing_keys(schema, header)
    resource = Resource(**source, schema=Schema.from_descriptor(schema), detector=Detector(schema_sync=True))
    return resource.validate(checklist, limit_errors=limit_errors), before


def _without_missing_keys(schema: dict[str, Any], header: list[str]) -> tuple[dict[str, Any], list[dict]]:
    """The schema without the uniqueness of columns missing from the file, and an error for each.

    frictionless (and so Validata) cannot check the uniqueness of a column the file
    lacks: Validata reports an internal error, the file is not valid. The portal
    gives the same verdict, with an error that says which column is missing. A
    required column's absence is already the error frictionless reports.
    """
    present = set(header)
    key = schema.get("primaryKey") or []
    key = [key] if isinstance(key, str) else list(key)
    errors: list[dict[str, Any]] = []
    fields = []
    for spec in schema.get("fields") or []:
        constraints = dict(spec.get("constraints") or {})
        if spec["name"] in present or not (constraints.get("unique") or spec["name"] in key):
            fields.append(spec)
            continue
        if not constraints.get("required"):
            errors.append({"code": "missing-unique-column", "column": spec["name"]})
        constraints.pop("unique", None)
        fields.append({**spec, "constraints": constraints})
    if not errors and all(spec["name"] in present for spec in schema.get("fields") or []):
        return schema, []
    trimmed = {**schema, "fields": fields}
    if any(name not in present for name in key):
        trimmed.pop("primaryKey", None)
    return trimmed, errors

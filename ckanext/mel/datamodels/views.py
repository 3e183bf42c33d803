"""The data models' schemas, served at the URL that identifies the MEL's own models, and
a page per model for people (its fields, an example file, its source)."""

from __future__ import annotations

import csv
import io
from typing import Any

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response

from ckanext.mel import datamodels

data_models = Blueprint("mel_data_models", __name__, url_prefix="/data-models")


def _data_model(model_id: str) -> datamodels.DataModel:
    """The data model of this id, or the 404 page."""
    data_model = datamodels.get(model_id)
    if data_model is None:
        return tk.abort(404, tk._("There is no data model {id!r}.").format(id=model_id))  # raises
    return data_model


@data_models.route("/<model_id>/schema.json")
def schema(model_id: str) -> Response:
    """The Table Schema, byte for byte as shipped (the official ones are copies)."""
    data_model = _data_model(model_id)
    return Response(data_model.schema_text(), mimetype="application/json")


@data_models.route("/<model_id>")
def read(model_id: str) -> str:
    """The model for people: its fields, their types and rules, an example file, its source."""
    data_model = _data_model(model_id)
    schema = data_model.schema()
    fields = [
        {
            "name": field["name"],
            "title": field.get("title") or "",
            "description": field.get("description") or "",
            "type": field.get("type") or "string",
            "format": field.get("format"),
            "required": bool((field.get("constraints") or {}).get("required")),
            "rules": _rules(field.get("constraints") or {}),
            "example": _example(field),
        }
        for field in schema.get("fields", [])
    ]
    return tk.render(
        "mel/data_model.html",
        {"data_model": data_model, "schema": schema, "fields": fields, "official": data_model.official},
    )


@data_models.route("/<model_id>/example.csv")
def example(model_id: str) -> Response:
    """A CSV file with the model's columns and one line of examples, to start from."""
    data_model = _data_model(model_id)
    fields = data_model.schema().get("fields", [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([field["name"] for field in fields])
    writer.writerow([_example(field) for field in fields])
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={data_model.id}-exemple.csv"},
    )


def _example(field: dict[str, Any]) -> str:
    examples = field.get("examples", field.get("example"))
    if isinstance(examples, list):
        examples = examples[0] if examples else ""
    return "" if examples is None else str(examples)


def _rules(constraints: dict[str, Any]) -> list[str]:
    """The field's constraints in words."""
    _ = tk._
    rules = []
    if constraints.get("unique"):
        rules.append(_("unique on each line"))
    if constraints.get("enum"):
        rules.append(_("one of: {values}").format(values=", ".join(map(str, constraints["enum"]))))
    if "minimum" in constraints:
        rules.append(_("at least {value}").format(value=constraints["minimum"]))
    if "maximum" in constraints:
        rules.append(_("at most {value}").format(value=constraints["maximum"]))
    if "minLength" in constraints:
        rules.append(_("at least {value} characters").format(value=constraints["minLength"]))
    if "maxLength" in constraints:
        rules.append(_("at most {value} characters").format(value=constraints["maxLength"]))
    if constraints.get("pattern"):
        rules.append(_("written as the pattern {pattern}").format(pattern=constraints["pattern"]))
    return rules

"""The data models' schemas, served at the URL that identifies the MEL's own models."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
from flask import Blueprint, Response

from ckanext.mel import datamodels

data_models = Blueprint("mel_data_models", __name__, url_prefix="/data-models")


@data_models.route("/<model_id>/schema.json")
def schema(model_id: str) -> Response:
    """The Table Schema, byte for byte as shipped (the official ones are copies)."""
    data_model = datamodels.get(model_id)
    if data_model is None:
        tk.abort(404, tk._("There is no data model {id!r}.").format(id=model_id))
    return Response(data_model.schema_text(), mimetype="application/json")

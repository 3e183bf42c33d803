"""Validators of the organisation and dataset schemas (used by name in the YAML)."""

from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SIREN = re.compile(r"^\d{9}$")
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def mel_insee_code(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> Any:
    """Five characters of the Code officiel géographique, unique among organisations."""
    value = data.get(key)
    if not value:
        return
    value = str(value).strip().upper()
    if not INSEE_CODE.match(value):
        errors[key].append(tk._("An INSEE code has five characters, such as 59350."))
        return
    data[key] = value
    # On update, the organisation itself (its id or name may be what was given).
    group = context.get("group") or (model.Group.get(data[("id",)]) if data.get(("id",)) else None)
    this_id = group.id if group is not None else None
    other = (
        model.Session.query(model.Group.name)
        .join(model.GroupExtra, model.GroupExtra.group_id == model.Group.id)
        .filter(model.GroupExtra.key == "insee_code")
        .filter(model.GroupExtra.value == value)
        .filter(model.GroupExtra.state == "active")
        .filter(model.Group.state != "deleted")
    )
    if this_id:
        other = other.filter(model.Group.id != this_id)
    taken = other.first()
    if taken:
        errors[key].append(
            tk._("The INSEE code {code} is already used by {name}.").format(code=value, name=taken.name)
        )


def mel_siren(value: Any) -> Any:
    """Nine digits; spaces, as often typed, are dropped."""
    if not value:
        return value
    digits = re.sub(r"\s", "", str(value))
    if not SIREN.match(digits):
        raise tk.Invalid(tk._("A SIREN number has nine digits."))
    return digits


def mel_geojson_geometry(value: Any) -> Any:
    """A GeoJSON geometry, stored as JSON text."""
    if not value:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise tk.Invalid(tk._("This is not valid GeoJSON.")) from None
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise tk.Invalid(tk._("This is not a GeoJSON geometry."))
    if not isinstance(value.get("coordinates"), list):
        raise tk.Invalid(tk._("A GeoJSON geometry needs coordinates."))
    return json.dumps(value, separators=(",", ":"))


def mel_commune_id(value: Any, context: Context) -> Any:
    """A commune given by id, name or INSEE code, turned into its organisation id."""
    from ckanext.mel.communes import get_commune

    commune = get_commune(str(value)) if value else None
    if commune is None:
        raise tk.Invalid(tk._("No commune is known by {value!r}.").format(value=value))
    return commune.id


def mel_as_date(value: Any) -> Any:
    """After `isodate`: the calendar day."""
    return value.date() if hasattr(value, "date") else value


# The harmonised dataset schema (schemas/dataset.yaml) and its data models


def mel_dataset_defaults(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> Any:
    """The schema's before_validators: defaults taken from the owning commune."""
    from ckanext.mel.datasets import fill_defaults

    fill_defaults(key, data, errors, context)


def mel_data_model(value: Any) -> Any:
    """The id of a data model of the registry."""
    from ckanext.mel import datamodels

    if value and datamodels.get(value) is None:
        raise tk.Invalid(tk._("There is no data model {id!r}.").format(id=value))
    return value


def mel_license_id(value: Any) -> Any:
    """One of the portal's licences (data/licenses.json)."""
    from ckanext.mel.vocabularies import license_ids

    if value and value not in license_ids():
        raise tk.Invalid(
            tk._("Choose one of the portal's licences: {ids}.").format(ids=", ".join(sorted(license_ids())))
        )
    return value


def mel_resource_format(value: Any) -> Any:
    """A format of the portal's list (the form's choices), spelled as the list spells it.

    Other formats pass unchanged, as in CKAN: the API and harvested metadata may use them.
    """
    from ckanext.mel.vocabularies import get_format

    fmt = get_format(value) if value else None
    return fmt.name if fmt else value


def mel_media_type(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> Any:
    """The IANA media type of the resource's format; kept as given for other formats."""
    from ckanext.mel.vocabularies import format_of

    fmt = format_of(data.get(key[:-1] + ("format",)), data.get(key[:-1] + ("url",)))
    if fmt is not None:
        data[key] = fmt.media_type


def mel_resource_conforms_to(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> Any:
    """The dataset's data model URL, on its tabular resources."""
    from ckanext.mel import datamodels
    from ckanext.mel.vocabularies import TABULAR_FORMATS, format_of

    data_model = datamodels.get(data.get(("data_model",)) or "")
    fmt = format_of(data.get(key[:-1] + ("format",)), data.get(key[:-1] + ("url",)))
    if fmt is None or fmt.name not in TABULAR_FORMATS:
        return
    if data_model is not None:
        data[key] = data_model.url
    elif data.get(key) in {m.url for m in datamodels.all_models()}:
        data[key] = ""

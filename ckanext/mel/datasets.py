"""The harmonised dataset schema's defaults, taken from the owning commune.

An agent who leaves the spatial coverage or the contact point empty gets the
commune's: its INSEE URI, name and boundary, and its contact email. A dataset
with a data model and no theme gets the model's theme.
"""

from __future__ import annotations

import json
from typing import Any

from ckan import model
from ckan.lib.navl.dictization_functions import missing
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mel import communes, datamodels, extent

INSEE_COMMUNE_URI = "http://id.insee.fr/geo/commune/{code}"


def commune_uri(insee_code: str) -> str:
    return INSEE_COMMUNE_URI.format(code=insee_code)


def commune_coverage(organization: model.Group) -> dict[str, str]:
    """The commune as a place: its INSEE URI, its name and its boundary."""
    coverage = {"uri": commune_uri(organization.extras["insee_code"]), "text": organization.title}
    if organization.extras.get("boundary"):
        coverage["geom"] = organization.extras["boundary"]
    return coverage


def fill_defaults(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """Before the fields' own validators: fill what the owning organisation knows."""
    owner = data.get(("owner_org",))
    organization = model.Group.get(owner) if owner and owner is not missing else None
    if organization is not None and organization.is_organization:
        if communes.is_commune(organization) and not _has_items(data, "spatial_coverage"):
            package = model.Package.get(_text(data.get(("id",))))
            _set_items(data, "spatial_coverage", [extent.commune_place(organization, package)])
        email = organization.extras.get("contact_email")
        if email and not _has_items(data, "contact"):
            _set_items(data, "contact", [{"name": organization.title, "email": email}])

    data_model = datamodels.get(_text(data.get(("data_model",))))
    if data_model and not _has_value(data.get(("theme",))):
        data[("theme",)] = [data_model.theme_uri]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _has_value(value: Any) -> bool:
    if value is missing or value is None:
        return False
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else value
        except ValueError:
            pass
    return bool(value)


def _has_items(data: FlattenDataDict, field: str) -> bool:
    """Whether a repeating field has at least one non-empty subfield."""
    if _has_value(data.get((field,))):
        return True
    return any(len(key) == 3 and key[0] == field and _has_value(value) for key, value in data.items())


def _set_items(data: FlattenDataDict, field: str, items: list[dict[str, str]]) -> None:
    for key in [key for key in data if key[0] == field]:
        del data[key]
    for index, item in enumerate(items):
        for name, value in item.items():
            data[(field, index, name)] = value

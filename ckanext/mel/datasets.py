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

from ckanext.mel import communes, datamodels, dataset_names, extent


def fill_defaults(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> None:
    """Before the fields' own validators: fill what the owning organisation knows."""
    owner = data.get(("owner_org",))
    organization = communes.organization(owner) if owner is not missing else None
    if organization is not None and organization.is_organization:
        dataset_names.set_commune_name(data, context, organization)
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
        except (ValueError, RecursionError):  # nested past Python's limit: left to the validators
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


def resources_follow_data_model(package: model.Package, data_dict: dict[str, Any]) -> None:
    """Make package_update validate every resource again when the data model changes.

    A tabular resource's `conforms_to` is the dataset's data model (the
    mel_resource_conforms_to validator). CKAN 2.12's package_update validates
    again only the resources whose dict changed, so a new model alone would
    leave the old URL on them: without their `conforms_to` they differ, and
    the validator sets it afresh.
    """
    if "data_model" not in data_dict:
        return
    if (data_dict.get("data_model") or "") == (package.extras.get("data_model") or ""):
        return
    resources = data_dict.get("resources")
    if resources is None:
        resources = [resource.as_dict() for resource in package.resources]
    # New dicts: package_patch's resources are the very dicts of the package it compares them with.
    data_dict["resources"] = [
        {key: value for key, value in resource.items() if key != "conforms_to"}
        if isinstance(resource, dict)
        else resource
        for resource in resources
    ]

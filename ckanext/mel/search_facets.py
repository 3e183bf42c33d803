"""The dataset search's facets: commune, theme and data model.

The theme and the data model are indexed as multivalued strings (CKAN's Solr
schema's `vocab_*` fields, which facet exactly), and shown with their labels in
the interface's language rather than as URIs and identifiers.
"""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk

THEME = "vocab_mel_theme"
DATA_MODEL = "vocab_mel_data_model"


def before_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    themes = _as_list(pkg_dict.get("theme"))
    if themes:
        pkg_dict[THEME] = themes
    if pkg_dict.get("data_model"):
        pkg_dict[DATA_MODEL] = [pkg_dict["data_model"]]
    return pkg_dict


def facets(facets_dict: dict[str, Any]) -> dict[str, Any]:
    """The commune first, then theme and data model, then CKAN's formats and licences;
    CKAN's groups and tags, which the portal does not use, left out."""
    ordered: dict[str, Any] = {
        "organization": tk._("Communes"),
        THEME: tk._("Themes"),
        DATA_MODEL: tk._("Data models"),
    }
    for key in ("res_format", "license_id"):
        if key in facets_dict:
            ordered[key] = facets_dict[key]
    facets_dict.clear()
    facets_dict.update(ordered)
    return facets_dict


def label(facet: str, item: dict[str, Any]) -> str:
    """A facet item's label: the theme's or the data model's name, else CKAN's."""
    if facet == THEME:
        return theme_label(item["name"])
    if facet == DATA_MODEL:
        from ckanext.mel import datamodels

        data_model = datamodels.get(item["name"])
        return data_model.title() if data_model else item["name"]
    return item.get("display_name") or item["name"]


def theme_label(uri: str) -> str:
    from ckanext.scheming.helpers import (
        scheming_choices_label,
        scheming_field_by_name,
        scheming_get_dataset_schema,
    )

    schema = scheming_get_dataset_schema("dataset") or {}
    field = scheming_field_by_name(schema.get("dataset_fields", []), "theme") or {}
    return scheming_choices_label(field.get("choices", []), uri)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.startswith("[") else [value]
        except ValueError:
            value = [value]
    return [v for v in value or [] if isinstance(v, str) and v]

"""The data models: Table Schemas that a commune's CSV files follow.

The registry is models.yaml. Official French schemas are used unchanged and
identified by their schema.data.gouv.fr URL; the MEL's own schemas are served
by the portal (see views.py), whose URL identifies them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ckan.plugins.toolkit as tk
import yaml
from flask import has_request_context

from ckanext.mel.vocabularies import EU_DATA_THEME

HERE = Path(__file__).parent


@dataclass(frozen=True)
class DataModel:
    id: str
    label: dict[str, str]
    schema_file: str
    theme: str
    official_url: str | None = None
    latitude: str | None = None
    longitude: str | None = None

    @property
    def official(self) -> bool:
        return self.official_url is not None

    @property
    def url(self) -> str:
        """The model's identifier, used as the resources' dct:conformsTo."""
        if self.official_url:
            return self.official_url
        site_url = tk.config.get("ckan.site_url").rstrip("/")
        return f"{site_url}/data-models/{self.id}/schema.json"

    @property
    def theme_uri(self) -> str:
        return EU_DATA_THEME + self.theme

    @property
    def has_coordinates(self) -> bool:
        return bool(self.latitude and self.longitude)

    @property
    def coordinates(self) -> tuple[str, str] | None:
        """The (latitude, longitude) columns of a model whose rows are places."""
        if self.latitude and self.longitude:
            return self.latitude, self.longitude
        return None

    def title(self) -> str:
        """The label in the interface's language (the site's default outside a request)."""
        lang = tk.h.lang() if has_request_context() else tk.config.get("ckan.locale_default")
        return self.label.get(lang) or self.label["fr"]

    def schema_text(self) -> str:
        """The schema file, byte for byte as shipped."""
        return (HERE / self.schema_file).read_text(encoding="utf-8")

    def schema(self) -> dict[str, Any]:
        return _schema(self.schema_file)

    def field_names(self) -> list[str]:
        return [field["name"] for field in self.schema()["fields"]]

    def sheet_names(self) -> list[str]:
        """What a spreadsheet's sheet may be named to be read rather than the first one.

        The model's id with or without its publisher's prefix ("scdl-prenoms",
        "prenoms"), its labels, the schema's name and title; compared without
        case, accents or punctuation (checks/spreadsheets.py).
        """
        schema = self.schema()
        short = self.id.split("-", 1)[1] if self.id.startswith(("scdl-", "mel-", "schema-")) else self.id
        names = [self.id, short, *self.label.values(), schema.get("name"), schema.get("title")]
        return [name for name in names if isinstance(name, str) and name]


@functools.cache
def _schema(schema_file: str) -> dict[str, Any]:
    with open(HERE / schema_file, encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, DataModel]:
    with open(HERE / "models.yaml", encoding="utf-8") as f:
        entries = yaml.safe_load(f)
    return {
        entry["id"]: DataModel(
            id=entry["id"],
            label=entry["label"],
            schema_file=entry["schema"],
            theme=entry["theme"],
            official_url=entry.get("url"),
            latitude=entry.get("latitude"),
            longitude=entry.get("longitude"),
        )
        for entry in entries
    }


def all_models() -> list[DataModel]:
    return list(_registry().values())


def get(model_id: str | None) -> DataModel | None:
    return _registry().get(model_id or "")

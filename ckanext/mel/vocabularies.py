"""Controlled vocabularies of the dataset schema that need code: file formats and licences.

The vocabularies that are only choices (themes, frequencies, languages, access
rights) are declared in schemas/dataset.yaml.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LICENSES_FILE = Path(__file__).parent / "data" / "licenses.json"

EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Format:
    """A file format: its CKAN name, its code in the EU file-type table, its IANA media type."""

    name: str
    eu_code: str
    media_type: str

    @property
    def eu_uri(self) -> str:
        return EU_FILE_TYPE + self.eu_code

    @property
    def media_type_uri(self) -> str:
        return IANA_MEDIA_TYPE + self.media_type


FORMATS = [
    Format("CSV", "CSV", "text/csv"),
    Format("JSON", "JSON", "application/json"),
    Format("GeoJSON", "GEOJSON", "application/geo+json"),
    Format("XLSX", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    Format("XLS", "XLS", "application/vnd.ms-excel"),
    Format("ODS", "ODS", "application/vnd.oasis.opendocument.spreadsheet"),
    Format("XML", "XML", "application/xml"),
    Format("KML", "KML", "application/vnd.google-earth.kml+xml"),
    Format("GPKG", "GPKG", "application/geopackage+sqlite3"),
    Format("ZIP", "ZIP", "application/zip"),
    Format("PDF", "PDF", "application/pdf"),
    Format("TXT", "TXT", "text/plain"),
    Format("HTML", "HTML", "text/html"),
]
_FORMATS_BY_NAME = {f.name.lower(): f for f in FORMATS}

# Tabular formats: the ones checked against a data model.
TABULAR_FORMATS = {"CSV"}


def get_format(name: str | None) -> Format | None:
    """The format by its name, whatever the case (CKAN's clean_format upper-cases some)."""
    return _FORMATS_BY_NAME.get((name or "").strip().lower().lstrip("."))


def format_of(value: Any, url: Any = None) -> Format | None:
    """The format of a resource, from its format field as typed or guessed, or its URL."""
    from ckan.lib.helpers import unified_resource_format

    if isinstance(value, str) and value:
        return get_format(value) or get_format(unified_resource_format(value))
    if isinstance(url, str) and url:
        guessed, _encoding = mimetypes.guess_type(url.split("?")[0])
        return get_format(unified_resource_format(guessed)) if guessed else None
    return None


def licenses() -> list[dict[str, Any]]:
    """The portal's licence list (CKAN's `licenses_group_url` points to the same file)."""
    with open(LICENSES_FILE, encoding="utf-8") as f:
        return json.load(f)


def license_url(license_id: str) -> str | None:
    return next((lic["url"] for lic in licenses() if lic["id"] == license_id), None)


def license_ids() -> set[str]:
    return {lic["id"] for lic in licenses()}


def default_licenses_group_url() -> str:
    return LICENSES_FILE.resolve().as_uri()

"""The registries of the vocabularies that need code: file formats, licences, the EU authority tables.

Every module asks these (the DCAT profile, the quality score, the validation, the
demo…): a format, a licence or an EU authority URI is described here once. The
vocabularies that are only choices (themes, frequencies, languages, access
rights) are declared in schemas/dataset.yaml.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LICENSES_FILE = Path(__file__).parent / "data" / "licenses.json"

# The EU Publications Office's authority tables (DCAT-AP's controlled vocabularies).
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_FILE_TYPE = EU_AUTHORITY + "file-type/"
EU_LICENCE = EU_AUTHORITY + "licence/"
EU_LANGUAGE = EU_AUTHORITY + "language/"
EU_DATA_THEME = EU_AUTHORITY + "data-theme/"
EU_ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
EU_FREQUENCY = EU_AUTHORITY + "frequency/"
IANA_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"


@dataclass(frozen=True)
class Format:
    """A file format: its CKAN name, its code in the EU file-type table, its IANA media type, and
    whether data.europa.eu's MQA counts it as non-proprietary and as machine-readable."""

    name: str
    eu_code: str
    media_type: str
    non_proprietary: bool
    machine_readable: bool

    @property
    def eu_uri(self) -> str:
        return EU_FILE_TYPE + self.eu_code

    @property
    def media_type_uri(self) -> str:
        return IANA_MEDIA_TYPE + self.media_type


# The two flags follow the MQA's own lists of non-proprietary and machine-readable file types.
FORMATS = [
    Format("CSV", "CSV", "text/csv", True, True),
    Format("JSON", "JSON", "application/json", True, True),
    Format("GeoJSON", "GEOJSON", "application/geo+json", True, True),
    Format("XLSX", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False, True),
    Format("XLS", "XLS", "application/vnd.ms-excel", False, True),
    Format("ODS", "ODS", "application/vnd.oasis.opendocument.spreadsheet", True, True),
    Format("XML", "XML", "application/xml", True, True),
    Format("KML", "KML", "application/vnd.google-earth.kml+xml", True, True),
    Format("GPKG", "GPKG", "application/geopackage+sqlite3", True, True),
    Format("ZIP", "ZIP", "application/zip", True, False),
    Format("PDF", "PDF", "application/pdf", False, False),
    Format("TXT", "TXT", "text/plain", True, False),
    Format("HTML", "HTML", "text/html", True, False),
]
_FORMATS_BY_NAME = {f.name.lower(): f for f in FORMATS}

# Tabular formats: the ones checked against a data model (spreadsheets: checks/spreadsheets.py).
TABULAR_FORMATS = {"CSV", "XLSX", "ODS"}


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


@dataclass(frozen=True)
class Licence:
    """How a licence of the portal's list (licenses.json) is published in the feeds."""

    eu_code: str  # in the EU licence authority table
    types: tuple[str, ...]  # ADMS licence types
    rights: str  # the conditions of reuse, for dct:rights

    @property
    def uri(self) -> str:
        return EU_LICENCE + self.eu_code


# By licenses.json's ids. data.gouv.fr matches the licence node's rdfs:label (the licence's
# title in licenses.json) with its own list; data.europa.eu scores the EU authority-table URI.
LICENCES = {
    "lov2": Licence(
        "ETALAB_2_0",
        ("Attribution",),
        "Réutilisation libre et gratuite, y compris commerciale, sous réserve de mentionner "
        "la source des données et la date de leur dernière mise à jour.",
    ),
    "odc-odbl": Licence(
        "ODC_BL",
        ("Attribution", "ShareAlike"),
        "Réutilisation libre sous réserve de mentionner la source et de partager sous la même "
        "licence les bases de données qui en sont dérivées.",
    ),
}
LICENCE_TYPE_LABELS = {
    "Attribution": "Attribution",
    "ShareAlike": "Share-alike",
    "UnknownIPR": "Unknown IPR",
}


def licence_uri(license_id: str | None) -> str | None:
    """The URI a licence is published under: EU authority table first, else its own URL."""
    from ckan import model

    if not license_id:
        return None
    if license_id in LICENCES:
        return LICENCES[license_id].uri
    if license_id.startswith(("http://", "https://")):
        return license_id
    licence = model.Package.get_license_register().get(license_id)
    return licence.url if licence is not None and licence.url else None


def license_id_for(uri: str) -> str | None:
    return next((key for key, lic in LICENCES.items() if lic.uri == uri), None)

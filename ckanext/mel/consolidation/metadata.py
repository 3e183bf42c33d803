"""A metropolitan dataset's metadata, from its data model and its contributing communes.

Written in the site's language (French): a dataset's title and description are data,
not interface, like the demo's.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model

from ckanext.mel import communes, datamodels
from ckanext.mel.consolidation.sources import SourceFile

EU = "http://publications.europa.eu/resource/authority/"
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def short_label(data_model: datamodels.DataModel) -> str:
    """ "Défibrillateurs (AtlaSanté)" → "Défibrillateurs"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", data_model.label["fr"]).strip()


def dataset_name(data_model: datamodels.DataModel) -> str:
    return f"{communes.mel_organization_name()}-{communes.slugify(short_label(data_model))}"


def french_date(value: str) -> str:
    day = datetime.date.fromisoformat(value[:10])
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def notes(data_model: datamodels.DataModel, sources: list[SourceFile], since: dict[str, str]) -> str:
    label = short_label(data_model)
    lines = [
        "Les données des communes de la Métropole européenne de Lille au modèle "
        f"« {data_model.label['fr']} », réunies en un seul jeu de données : toutes les lignes des "
        "fichiers valides des jeux de données publics des communes, mises à jour automatiquement quand "
        "une commune publie, corrige ou retire un fichier. Les fichiers privés, en brouillon, supprimés "
        "ou non conformes au modèle n'y entrent pas.",
        "",
        f"- **{label} (CSV)** : le fichier consolidé, avec les seules colonnes du modèle, dans son ordre ; "
        "il est lui-même conforme au modèle.",
        "- **API** : les mêmes lignes dans l'API DataStore, avec leur provenance : code INSEE et nom de la "
        "commune, jeu de données, fichier et date du fichier d'origine (colonnes SOURCE_…).",
    ]
    from ckanext.mel.consolidation.build import identifier_columns

    keys = identifier_columns(data_model)
    if keys:
        lines.append(
            f"- Une ligne par valeur de {', '.join(keys)} : quand deux fichiers en donnent une, celle du "
            "fichier le plus récent est gardée."
        )
    communes_seen: dict[str, SourceFile] = {}
    for source in sources:
        communes_seen.setdefault(source.organization_id, source)
    lines += ["", f"**Communes contributrices ({len(communes_seen)})** :", ""]
    for organization_id, source in sorted(communes_seen.items(), key=lambda item: item[1].commune):
        when = since.get(organization_id)
        suffix = f", depuis le {french_date(when)}" if when else ""
        lines.append(f"- {source.commune} ({source.insee_code}){suffix}")
    if not communes_seen:
        lines.append("- Aucune commune ne publie actuellement de fichier valide dans ce modèle.")
    return "\n".join(lines)


def mel_coverage() -> list[dict[str, str]]:
    """The metropolis (the EPCI, by its SIREN) with the box around its 95 communes."""
    from ckanext.mel.profiles import mel_territory

    west, south, east, north = (round(v, 6) for v in mel_territory().bounds)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return [
        {
            "uri": f"http://id.insee.fr/geo/intercommunalite/{communes.MEL_SIREN}",
            "text": communes.MEL_TITLE,
            "geom": json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":")),
        }
    ]


def temporal_coverage(sources: list[SourceFile]) -> list[dict[str, str]]:
    """From the earliest start to the latest end of the source datasets' periods (else the files' dates)."""
    starts, ends = [], []
    for package_id in {source.package_id for source in sources}:
        package = model.Package.get(package_id)
        try:
            periods = json.loads((package.extras.get("temporal_coverage") if package else None) or "[]")
        except (TypeError, ValueError):
            periods = []
        for period in periods if isinstance(periods, list) else []:
            if isinstance(period, dict):
                starts += [period["start"][:10]] if period.get("start") else []
                ends += [period["end"][:10]] if period.get("end") else []
    if not starts or not ends:
        dates = [source.file_date[:10] for source in sources]
        starts, ends = starts or dates, ends or dates
    if not starts or not ends:
        return []
    return [{"start": min(starts), "end": max(ends)}]


def dataset_fields(
    data_model: datamodels.DataModel,
    mel: model.Group,
    sources: list[SourceFile],
    since: dict[str, str],
    name: str | None = None,
) -> dict[str, Any]:
    today = datetime.date.today().isoformat()
    fields: dict[str, Any] = {
        "title": f"{short_label(data_model)} — {mel.title}",
        "notes": notes(data_model, sources, since),
        "owner_org": mel.id,
        "data_model": data_model.id,
        "tag_string": ",".join(["données métropolitaines", short_label(data_model).lower()]),
        "theme": [data_model.theme_uri],
        "license_id": "lov2",
        "frequency": EU + "frequency/DAILY",
        "contact": [{"name": mel.title, "email": tk.config.get("ckanext.mel.contact_email")}],
        "issued": today,
        "modified": today,
        "language": [EU + "language/FRA"],
        "access_rights": EU + "access-right/PUBLIC",
        "spatial_coverage": mel_coverage(),
    }
    period = temporal_coverage(sources)
    if period:
        fields["temporal_coverage"] = period
    if name:
        fields["name"] = name
    return fields


def file_resource_fields(data_model: datamodels.DataModel) -> dict[str, str]:
    slug = communes.slugify(short_label(data_model))
    return {
        "name": f"{short_label(data_model)} (CSV)",
        "description": (
            "Le fichier consolidé des communes, conforme au modèle de données : ses seules colonnes, "
            "dans son ordre."
        ),
        "format": "CSV",
        "url": f"{slug}-{communes.mel_organization_name()}.csv",
    }


def table_resource_fields(data_model: datamodels.DataModel) -> dict[str, str]:
    return {
        "name": "API",
        "description": (
            f"Les lignes de « {short_label(data_model)} » dans l'API DataStore (filtres, tri, recherche, "
            "exports), avec la provenance de chaque ligne : code INSEE et nom de la commune, jeu de "
            "données, fichier et date du fichier d'origine."
        ),
        "format": "CSV",
        "url": "_datastore_only_resource",
        "url_type": "datastore",
    }

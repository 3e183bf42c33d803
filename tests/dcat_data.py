"""Datasets for the feed and quality tests: a complete one, as the demo publishes, and helpers."""

from __future__ import annotations

from typing import Any

from ckan.tests import factories
from ckan.tests.helpers import call_action
from rdflib import Graph

from ckanext.mel import communes
from ckanext.mel.profiles import DCAT_AP_2_PROFILES

EU = "http://publications.europa.eu/resource/authority/"
PRENOMS_SCHEMA = "https://schema.data.gouv.fr/schemas/scdl/prenoms/1.1.6/schema.json"
PRENOMS_CSV = (
    "COMMUNE_NOM,COLL_INSEE,ENFANT_SEXE,ENFANT_PRENOM,NOMBRE_OCCURRENCES,ANNEE\n"
    "Lille,59350,F,Louise,12,2024\n"
    "Lille,59350,M,Gabriel,10,2024\n"
)


def lille_boundary() -> str:
    """A real commune boundary (GeoJSON), from the reference file the extension ships."""
    return next(c for c in communes.reference_communes() if c.insee_code == "59350").boundary


def complete_fields(**overrides: Any) -> dict[str, Any]:
    """Every field a dataset needs to score "Excellent" (the demo's datasets fill them all)."""
    fields = {
        "title": "Prénoms des nouveaux-nés",
        "notes": "Les prénoms donnés aux enfants nés dans la commune, par sexe et par année.",
        "tag_string": "prénoms,naissances,état civil",
        "data_model": "scdl-prenoms",
        "theme": [EU + "data-theme/SOCI"],
        "license_id": "lov2",
        "frequency": EU + "frequency/ANNUAL",
        "temporal_coverage": [{"start": "2020-01-01", "end": "2024-12-31"}],
        "contact": [{"name": "Service état civil", "email": "etat-civil@example.org"}],
        "issued": "2024-02-01",
        "modified": "2025-01-15",
        "language": [EU + "language/FRA"],
        "access_rights": EU + "access-right/PUBLIC",
    }
    fields.update(overrides)
    return fields


def complete_dataset(commune: dict[str, Any], create_with_upload: Any, **overrides: Any) -> dict[str, Any]:
    """A complete dataset of the commune with an uploaded CSV file that follows its data model."""
    sysadmin = factories.Sysadmin()
    dataset = factories.Dataset(user=sysadmin, owner_org=commune["id"], **complete_fields(**overrides))
    create_with_upload(
        PRENOMS_CSV,
        "prenoms-2024.csv",
        context={"user": sysadmin["name"]},
        package_id=dataset["id"],
        name="Prénoms 2024",
        description="Un prénom par ligne, avec son nombre d'occurrences.",
        format="CSV",
    )
    return call_action("package_show", id=dataset["id"])


def dataset_graph(dataset: dict[str, Any], profiles: list[str] | None = None) -> Graph:
    """The dataset's RDF graph, as /dataset/<id>.ttl serves it (DCAT-AP 3 by default)."""
    from ckanext.dcat.processors import RDFSerializer

    serializer = RDFSerializer(profiles=profiles)
    serializer.graph_from_dataset(dataset)
    return serializer.g


def dcat_ap_2_graph(dataset: dict[str, Any]) -> Graph:
    return dataset_graph(dataset, DCAT_AP_2_PROFILES)


def load_demo() -> list[dict[str, Any]]:
    """The demo's datasets as `ckan mel-demo datasets` loads them, with their communes."""
    from ckanext.mel import demo

    context = {"user": factories.Sysadmin()["name"]}
    entries = demo.demo_datasets()
    names = {entry["commune"] for entry in entries}
    for commune in communes.reference_communes():
        if commune.name in names:
            call_action("organization_create", context=dict(context), name=commune.name, **commune.fields())
    call_action(
        "organization_create",
        context=dict(context),
        name=communes.mel_organization_name(),
        title=communes.MEL_TITLE,
        siren=communes.MEL_SIREN,
    )
    demo.load_demo_datasets(dict(context))
    return [call_action("package_show", id=entry["name"]) for entry in entries]


RDF_FORMATS = {"ttl": "turtle", "rdf": "xml", "xml": "xml", "jsonld": "json-ld"}


def get_graph(app: Any, url: str, **kwargs: Any) -> Graph:
    """An RDF page of the portal, parsed after its extension."""
    response = app.get(url.replace(SITE_URL, ""), status=200, **kwargs)
    extension = url.split("?")[0].rsplit(".", 1)[-1]
    return Graph().parse(data=response.body, format=RDF_FORMATS[extension])


def feed_pages(app: Any, url: str, **kwargs: Any) -> list[Graph]:
    """Every page of a feed, following hydra:next as a harvester does."""
    from ckanext.dcat.processors import HYDRA

    pages = [get_graph(app, url, **kwargs)]
    while (following := next(pages[-1].objects(None, HYDRA.next), None)) is not None:
        assert len(pages) < 50, "the paging does not end"
        pages.append(get_graph(app, str(following), **kwargs))
    return pages


def datasets_in(graph: Graph) -> set[str]:
    from rdflib import RDF
    from rdflib.namespace import DCAT

    return {str(d) for d in graph.subjects(RDF.type, DCAT.Dataset)}


SITE_URL = "http://test.ckan.net"
DCAT_AP_2_QUERY = "profiles=" + ",".join(DCAT_AP_2_PROFILES)

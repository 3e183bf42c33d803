"""The real stack: CKAN 2.11 with scheming, spatial, dcat and mel, on
PostgreSQL, Solr and Redis."""

import json

import pytest
import rdflib
from ckan.tests import factories
from ckan.tests.helpers import call_action

LILLE_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.7], [3.0, 50.7], [3.0, 50.6]]],
}


def _dataset(**fields):
    return factories.Dataset(
        title="Vérification de la plateforme",
        notes="Un jeu de données de test.",
        owner_org=factories.Organization()["id"],
        **fields,
    )


def test_status_lists_the_stack_plugins_and_ckan_2_11():
    status = call_action("status_show")
    assert status["ckan_version"].startswith("2.11.")
    for plugin in (
        "activity",
        "scheming_datasets",
        "scheming_organizations",
        "dcat",
        "spatial_metadata",
        "spatial_query",
        "mel",
    ):
        assert plugin in status["extensions"]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_created_dataset_is_found_through_solr_and_its_page_renders(app):
    dataset = _dataset(name="plateforme-recherche")

    found = call_action("package_search", q="name:plateforme-recherche")
    assert [d["id"] for d in found["results"]] == [dataset["id"]]

    page = app.get("/dataset/plateforme-recherche")
    assert page.status_code == 200
    assert "Vérification de la plateforme" in page.body


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_catalogue_feed_parses_and_contains_the_dataset(app):
    dataset = _dataset(name="plateforme-catalogue")

    response = app.get("/catalog.ttl")
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.body, format="turtle")

    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    titles = {str(graph.value(uri, dct.title)) for uri in graph.subjects(rdflib.RDF.type, dcat.Dataset)}
    assert dataset["title"] in titles


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_polygon_is_found_by_an_overlapping_bbox_and_not_by_a_disjoint_one():
    dataset = _dataset(
        name="plateforme-spatial",
        spatial_coverage=[{"text": "Lille", "geom": json.dumps(LILLE_SQUARE)}],
    )

    def search(bbox):
        result = call_action("package_search", extras={"ext_bbox": bbox})
        return [d["id"] for d in result["results"]]

    assert search("3.05,50.55,3.2,50.65") == [dataset["id"]]
    assert search("2.0,48.0,2.5,48.5") == []

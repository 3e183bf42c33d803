"""The feeds validate against DCAT-AP, with the SHACL shapes of ckanext-dcat's own tests.

DCAT-AP 2.1.1 (mandatory and recommended shapes: no result at all) for the DCAT-AP 2
serialisation that data.europa.eu is pointed at; DCAT-AP 3 for the default feeds, where
only the vocabulary-class messages that ckanext-dcat's own test accepts may appear. The
two versions disagree on dcat:byteSize's datatype, so one graph cannot satisfy both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ckan.tests import factories
from pyshacl import validate
from rdflib import Graph, Namespace

import ckanext.mel
from tests.dcat_data import (
    DCAT_AP_2_QUERY,
    complete_fields,
    feed_pages,
    get_graph,
    lille_boundary,
    load_demo,
)

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES = Path(ckanext.mel.__file__).parent / "data"
DCAT_AP_2_SHAPES = ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap_2.1.1_shacl_shapes_recommended.ttl")
DCAT_AP_3_SHAPES = "dcat-ap_3_shacl_shapes.ttl"
# What ckanext-dcat's test_validate_dcat_ap_3_graph accepts: terms of EU vocabularies
# whose class (skos:Concept, dcat:Dataset) only the vocabularies themselves state.
ACCEPTED_DCAT_AP_3 = {
    "Value does not have class skos:Concept",
    "Value does not have class dcat:Dataset",
}


def _results(graph: Graph, shapes: str) -> tuple[set[str], str]:
    _conforms, results, text = validate(graph, shacl_graph=str(SHAPES / shapes))
    return {str(message) for message in results.objects(None, SH.resultMessage)}, text


def assert_dcat_ap_2(graph: Graph) -> None:
    for shapes in DCAT_AP_2_SHAPES:
        messages, text = _results(graph, shapes)
        assert not messages, text


def assert_dcat_ap_3(graph: Graph) -> None:
    messages, text = _results(graph, DCAT_AP_3_SHAPES)
    assert messages <= ACCEPTED_DCAT_AP_3, text


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "4")
class TestTheDemo:
    def test_every_page_of_the_catalogue(self, app):
        demo = load_demo()
        pages_3 = feed_pages(app, "/catalog.ttl")
        pages_2 = feed_pages(app, f"/catalog.rdf?{DCAT_AP_2_QUERY}")
        assert len(pages_3) == len(pages_2) == 3  # ten datasets, four a page
        for graph in pages_3:
            assert_dcat_ap_3(graph)
        for graph in pages_2:
            assert_dcat_ap_2(graph)
        assert len(demo) == 10

    def test_each_dataset_and_each_commune_feed(self, app):
        demo = load_demo()
        for dataset in demo:
            assert_dcat_ap_3(get_graph(app, f"/dataset/{dataset['name']}.ttl"))
            assert_dcat_ap_2(get_graph(app, f"/dataset/{dataset['name']}.rdf?{DCAT_AP_2_QUERY}"))
        for commune in {dataset["organization"]["name"] for dataset in demo}:
            for graph in feed_pages(app, f"/organization/{commune}/catalog.jsonld"):
                assert_dcat_ap_3(graph)


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_complete_dataset_whose_file_is_a_link(app, commune_factory):
    """Links are what the demo does not have: a file elsewhere, and a web page."""
    commune = commune_factory(boundary=lille_boundary())
    resources = [
        {
            "url": "https://www.example.org/prenoms.csv",
            "format": "CSV",
            "name": "Prénoms",
            "size": 1200,
        },
        {"url": "https://www.example.org/prenoms", "format": "HTML", "description": "La page."},
    ]
    dataset = factories.Dataset(owner_org=commune["id"], resources=resources, **complete_fields())
    assert_dcat_ap_3(get_graph(app, f"/dataset/{dataset['name']}.ttl"))
    assert_dcat_ap_2(get_graph(app, f"/dataset/{dataset['name']}.ttl?{DCAT_AP_2_QUERY}"))


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_bare_dataset_is_valid_dcat_ap_3_and_misses_only_recommendations(app, commune):
    """Title, description and a file: mandatory DCAT-AP is met, the recommended is not."""
    dataset = factories.Dataset(owner_org=commune["id"], resources=[{"url": "https://www.example.org/a.csv"}])
    assert_dcat_ap_3(get_graph(app, f"/dataset/{dataset['name']}.ttl"))
    graph = get_graph(app, f"/dataset/{dataset['name']}.ttl?{DCAT_AP_2_QUERY}")
    mandatory, text = _results(graph, DCAT_AP_2_SHAPES[0])
    assert not mandatory, text
    recommended, _text = _results(graph, DCAT_AP_2_SHAPES[1])
    assert recommended  # keywords, themes, temporal coverage…

"""The harvester's side: ckanext-dcat's RDFParser reads the feeds back, page after page.

As ckanext-dcat's DCAT harvester does, each page is parsed and `next_page()` followed.
Every dataset and distribution comes back with its title, description, licence,
publisher, spatial coverage and data-model link, with ckanext-dcat's own DCAT-AP 3
profile alone (any CKAN harvesting the portal) and with the portal's profiles.
"""

from __future__ import annotations

import json

import pytest
import shapely
from ckanext.dcat.processors import RDFParser

from tests.dcat_data import DCAT_AP_2_QUERY, SITE_URL, load_demo

FEEDS = [
    "/catalog.ttl",
    "/catalog.rdf",
    "/catalog.jsonld",
    f"/catalog.xml?{DCAT_AP_2_QUERY}",
    "/organization/villeneuve-d-ascq/catalog.ttl",
]
PARSERS = {
    "ckanext-dcat": ["euro_dcat_ap_3"],
    "ckanext-dcat DCAT-AP 2": ["euro_dcat_ap_2", "euro_dcat_ap_scheming"],
    "portal": ["euro_dcat_ap_3", "mel"],
}
FORMATS = {"ttl": "turtle", "rdf": "xml", "xml": "xml", "jsonld": "json-ld"}


def harvest(app, url: str, profiles: list[str]) -> list[dict]:
    """Every dataset of a feed, as ckanext-dcat's harvester gets them."""
    datasets = []
    while url:
        response = app.get(url.replace(SITE_URL, ""), status=200)
        parser = RDFParser(profiles=profiles)
        parser.parse(response.body, _format=FORMATS[url.split("?")[0].rsplit(".", 1)[-1]])
        datasets.extend(parser.datasets())
        url = parser.next_page()
    return datasets


def _extra(dataset: dict, key: str) -> str | None:
    return next((e["value"] for e in dataset.get("extras", []) if e["key"] == key), None)


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "3")
@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_every_page_of_every_feed(app, parser):
    demo = {dataset["id"]: dataset for dataset in load_demo()}
    for feed in FEEDS:
        harvested = harvest(app, feed, PARSERS[parser])
        expected = {
            i for i, d in demo.items() if "organization/" not in feed or d["organization"]["name"] in feed
        }
        assert {
            d["identifier"] if "identifier" in d else _extra(d, "identifier") for d in harvested
        } == expected
        for got in harvested:
            _assert_same(got, demo[got.get("identifier") or _extra(got, "identifier")], parser)


def _assert_same(got: dict, sent: dict, parser: str) -> None:
    organization = sent["organization"]
    assert got["title"] == sent["title"]
    assert got["notes"] == sent["notes"]
    assert got["license_id"] == "lov2"
    assert _extra(got, "publisher_name") == organization["title"]
    assert _extra(got, "publisher_uri") == f"{SITE_URL}/organization/{organization['id']}"
    assert _extra(got, "publisher_identifier") == _siren(organization["id"])
    coverage = got.get("spatial_coverage") or [{"uri": _extra(got, "spatial_uri")}]
    assert coverage[0]["uri"] == sent["spatial_coverage"][0]["uri"]
    if parser == "portal":
        area = shapely.from_geojson(sent["spatial_coverage"][0]["geom"])
        assert shapely.from_geojson(coverage[0]["geom"]).contains(area)
    [resource] = got["resources"]
    [uploaded] = sent["resources"]
    assert resource["name"] == uploaded["name"]
    assert resource["description"] == uploaded["description"]
    assert resource["url"] == uploaded["url"]
    # ckanext-dcat reads a licence node by its label; the portal's profile maps it back.
    assert resource["license"] == ("lov2" if parser == "portal" else sent["license_title"])
    conforms_to = resource["conforms_to"]
    if parser != "portal":
        [conforms_to] = json.loads(conforms_to)
    assert conforms_to == uploaded["conforms_to"]
    if parser == "portal":
        assert (resource["format"], resource["mimetype"]) == ("CSV", "text/csv")


def _siren(organization_id: str) -> str:
    from ckan import model

    return model.Group.get(organization_id).extras["siren"]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_harvester_whose_licence_list_lacks_the_portal_s(app, commune, monkeypatch, tmp_path):
    from ckan.common import config
    from ckan.tests import factories

    from tests.dcat_data import complete_fields

    dataset = factories.Dataset(
        owner_org=commune["id"],
        resources=[{"url": "https://www.example.org/a.csv", "format": "CSV"}],
        **complete_fields(),
    )
    body = app.get(f"/dataset/{dataset['name']}.ttl").body
    licences = tmp_path / "licences.json"
    licences.write_text(json.dumps([{"id": "cc-by", "title": "CC BY", "url": "https://cc.org/by"}]))
    monkeypatch.setitem(config, "licenses_group_url", licences.as_uri())

    def parse(profiles: list[str]) -> dict:
        parser = RDFParser(profiles=profiles)
        parser.parse(body, _format="turtle")
        [parsed] = parser.datasets()
        return parsed

    assert parse(PARSERS["ckanext-dcat"])["license_id"] == ""
    assert parse(PARSERS["portal"])["license_id"] == "lov2"

"""The real stack: CKAN 2.12 or 2.11 with scheming, spatial, dcat, the DataStore
and mel, on PostgreSQL, Solr and Redis, configured as `make run` configures it."""

import configparser
import json
import os
import subprocess
from pathlib import Path

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


REPO = Path(__file__).resolve().parent.parent

# What test.ini and the demo's ckan.ini may add to portal.ini: the machine's own
# values. Anything else would make the tests run another portal than `make run`.
MACHINE_SETTINGS = {
    "use",
    "ckan.site_url",
    "ckan.site_id",
    "sqlalchemy.url",
    "ckan.datastore.write_url",
    "ckan.datastore.read_url",
    "solr_url",
    "ckan.redis.url",
    "ckan.storage_path",
    "secret_key",
    "api_token.jwt.encode.secret",
    "api_token.jwt.decode.secret",
    "smtp.server",
    "smtp.mail_from",
}


def _app_main(path: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(strict=False)
    parser.read(path)
    return {key: value for key, value in parser.items("app:main") if key not in parser.defaults()}


def test_status_lists_the_stack_plugins_and_the_ckan_version_under_test():
    status = call_action("status_show")
    # scripts/lib.sh exports the version make test was asked for (2.12 unless CKAN=2.11).
    assert status["ckan_version"].startswith(os.environ.get("MEL_CKAN", "2.12") + ".")
    for plugin in (
        "activity",
        "datastore",
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


def test_test_ini_adds_only_machine_settings_to_the_portal_settings():
    settings = _app_main(REPO / "test.ini")
    assert settings["use"] == "config:portal.ini"
    assert set(settings) - MACHINE_SETTINGS == set()


def test_the_demo_ini_is_written_with_the_portal_settings_and_machine_settings_only(tmp_path):
    """scripts/write-ini.sh, as `make run` calls it, on a scratch data folder."""
    env = dict(os.environ, MEL_DATA=str(tmp_path / "data"))
    ini = tmp_path / "ckan.ini"
    subprocess.run(
        [REPO / "scripts" / "write-ini.sh", ini, "http://127.0.0.1:5000", "mel-demo"],
        env=env,
        check=True,
        capture_output=True,
    )
    settings = _app_main(ini)
    assert settings["use"] == f"config:{REPO / 'portal.ini'}"
    assert set(settings) - MACHINE_SETTINGS == {"ckan.plugins"}
    # portal.ini's plugins, then the demo's commands: the demo serves the same portal.
    assert settings["ckan.plugins"] == _app_main(REPO / "portal.ini")["ckan.plugins"] + " mel_demo"
    # The secret is made once and kept: a second start keeps the users' sessions.
    subprocess.run(
        [REPO / "scripts" / "write-ini.sh", ini, "http://127.0.0.1:5000", "mel-demo"],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _app_main(ini)["secret_key"] == settings["secret_key"]
    assert len(settings["secret_key"]) >= 32


def test_uploads_are_enabled_by_the_portal_settings():
    """CKAN reads an empty ckan.uploads_enabled (its template's) as false."""
    from ckan.common import config

    assert config["ckan.uploads_enabled"] is True
    portal = configparser.RawConfigParser(strict=False)
    portal.read(REPO / "portal.ini")
    assert portal.get("app:main", "ckan.uploads_enabled") == "true"


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_an_agents_resource_form_offers_a_file_upload(app, enrolled_commune):
    from tests.helpers import login

    dataset = factories.Dataset(owner_org=enrolled_commune["id"], title="Formulaire", notes="Un test.")
    client = login(app, enrolled_commune["editor"])
    page = client.get(f"/dataset/{dataset['name']}/resource/new")
    assert page.status_code == 200
    assert 'type="file"' in page.body
    assert 'name="upload"' in page.body

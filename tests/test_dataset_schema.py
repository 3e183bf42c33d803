"""The harmonised dataset schema: defaults from the commune, controlled
vocabularies, the round trip through the API, and the form in French."""

import html
import json

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel import datamodels

EU = "http://publications.europa.eu/resource/authority/"
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.7], [3.0, 50.7], [3.0, 50.6]]],
}


@pytest.fixture
def lille(commune_factory):
    return commune_factory(
        name="lille",
        title="Lille",
        insee_code="59350",
        boundary=json.dumps(SQUARE),
        contact_email="opendata@mairie-lille.fr",
    )


def _create(sysadmin, **fields):
    data = {
        "name": "jeu-de-test",
        "title": "Jeu de test",
        "notes": "Des données de test.",
        **fields,
    }
    return call_action("package_create", context={"user": sysadmin["name"]}, **data)


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestDefaults:
    def test_a_commune_dataset_gets_the_communes_place_contact_licence_language_and_access(
        self, sysadmin, lille
    ):
        dataset = _create(sysadmin, owner_org=lille["id"])

        assert dataset["spatial_coverage"] == [
            {
                "uri": "http://id.insee.fr/geo/commune/59350",
                "text": "Lille",
                "geom": json.dumps(SQUARE, separators=(",", ":")),
            }
        ]
        assert dataset["contact"] == [{"name": "Lille", "email": "opendata@mairie-lille.fr"}]
        assert dataset["license_id"] == "lov2"
        assert dataset["license_url"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
        assert dataset["language"] == [EU + "language/FRA"]
        assert dataset["access_rights"] == EU + "access-right/PUBLIC"

    def test_the_communes_boundary_makes_the_dataset_found_by_a_bbox_search(self, sysadmin, lille):
        dataset = _create(sysadmin, owner_org=lille["id"])

        def search(bbox):
            result = call_action("package_search", extras={"ext_bbox": bbox})
            return [d["id"] for d in result["results"]]

        assert search("3.05,50.65,3.2,50.8") == [dataset["id"]]
        assert search("2.0,48.0,2.5,48.5") == []

    def test_an_agents_own_coverage_and_contact_are_kept(self, sysadmin, lille):
        coverage = [{"uri": "", "text": "Quartier de Wazemmes", "geom": json.dumps(SQUARE)}]
        contact = [{"name": "Service des sports", "email": "sports@mairie-lille.fr"}]
        dataset = _create(sysadmin, owner_org=lille["id"], spatial_coverage=coverage, contact=contact)

        assert [c["text"] for c in dataset["spatial_coverage"]] == ["Quartier de Wazemmes"]
        assert dataset["contact"] == contact

    def test_a_data_model_gives_its_theme_when_none_is_chosen(self, sysadmin, lille):
        dataset = _create(sysadmin, owner_org=lille["id"], data_model="mel-ecoles")

        assert dataset["theme"] == [EU + "data-theme/EDUC"]

    def test_an_organisation_that_is_not_a_commune_gets_no_place(self, sysadmin):
        dataset = _create(sysadmin, owner_org=factories.Organization()["id"])

        assert not dataset.get("spatial_coverage")


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestRoundTrip:
    def test_every_field_survives_package_create_and_package_show(self, sysadmin, lille):
        fields = {
            "tag_string": "écoles,éducation",
            "theme": [EU + "data-theme/EDUC", EU + "data-theme/REGI"],
            "data_model": "mel-ecoles",
            "license_id": "odc-odbl",
            "frequency": EU + "frequency/ANNUAL",
            "temporal_coverage": [{"start": "2024-09-01", "end": "2025-07-04"}],
            "spatial_coverage": [
                {
                    "uri": "http://id.insee.fr/geo/commune/59350",
                    "text": "Lille",
                    "geom": json.dumps(SQUARE),
                }
            ],
            "contact": [{"name": "Service éducation", "email": "education@mairie-lille.fr"}],
            "issued": "2024-09-02",
            "modified": "2025-01-15",
            "language": [EU + "language/FRA", EU + "language/ENG"],
            "access_rights": EU + "access-right/PUBLIC",
            "resources": [
                {
                    "url": "http://example.org/ecoles.csv",
                    "name": "ecoles.csv",
                    "format": "csv",
                    "license": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
                    "size": 2048,
                }
            ],
        }
        created = _create(sysadmin, owner_org=lille["id"], **fields)
        shown = call_action("package_show", id=created["id"])

        for key in (
            "theme",
            "data_model",
            "license_id",
            "frequency",
            "contact",
            "language",
            "access_rights",
        ):
            assert shown[key] == fields[key], key
        assert shown["temporal_coverage"] == fields["temporal_coverage"]
        assert shown["spatial_coverage"][0]["uri"] == "http://id.insee.fr/geo/commune/59350"
        assert shown["issued"].startswith("2024-09-02")
        assert shown["modified"].startswith("2025-01-15")
        assert {t["name"] for t in shown["tags"]} == {"écoles", "éducation"}
        resource = shown["resources"][0]
        assert resource["format"] == "CSV"
        assert resource["mimetype"] == "text/csv"
        assert resource["size"] == 2048
        assert resource["license"] == "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
        assert resource["conforms_to"] == datamodels.get("mel-ecoles").url

    def test_an_official_model_is_identified_by_its_schema_data_gouv_fr_url(self, sysadmin, lille):
        dataset = _create(
            sysadmin,
            owner_org=lille["id"],
            data_model="scdl-prenoms",
            resources=[
                {"url": "http://example.org/prenoms.csv"},
                {"url": "http://example.org/notice.pdf"},
            ],
        )
        csv_resource, pdf_resource = dataset["resources"]
        assert csv_resource["conforms_to"] == (
            "https://schema.data.gouv.fr/schemas/scdl/prenoms/1.1.6/schema.json"
        )
        assert csv_resource["format"] == "CSV"
        assert pdf_resource["format"] == "PDF"
        assert pdf_resource["mimetype"] == "application/pdf"
        assert not pdf_resource.get("conforms_to")

    def test_removing_the_model_removes_the_conformance(self, sysadmin, lille):
        dataset = _create(
            sysadmin,
            owner_org=lille["id"],
            data_model="scdl-prenoms",
            resources=[{"url": "http://example.org/prenoms.csv"}],
        )
        updated = call_action(
            "package_patch", context={"user": sysadmin["name"]}, id=dataset["id"], data_model=""
        )
        assert updated.get("data_model") in (None, ""), updated.get("data_model")
        assert not updated["resources"][0].get("conforms_to")

    @pytest.mark.parametrize(
        "field, value",
        [
            ("data_model", "no-such-model"),
            ("license_id", "cc-by"),
            ("frequency", "every blue moon"),
            ("theme", ["http://example.org/not-a-theme"]),
            ("access_rights", "open"),
        ],
    )
    def test_values_outside_the_vocabularies_are_refused(self, sysadmin, lille, field, value):
        with pytest.raises(tk.ValidationError) as error:
            _create(sysadmin, owner_org=lille["id"], **{field: value})
        assert field in error.value.error_dict

    def test_formats_of_the_list_are_spelled_as_the_list_spells_them(self, sysadmin, lille):
        dataset = _create(
            sysadmin,
            owner_org=lille["id"],
            resources=[
                {"url": "http://example.org/a", "format": "geojson"},
                {"url": "http://example.org/b.xlsx"},
            ],
        )
        geojson, xlsx = dataset["resources"]
        assert (geojson["format"], geojson["mimetype"]) == ("GeoJSON", "application/geo+json")
        assert xlsx["format"] == "XLSX"
        assert xlsx["mimetype"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestForm:
    def test_a_commune_editor_sees_every_field_of_the_form_in_french(self, app, lille):
        user = factories.UserWithToken()
        call_action("organization_member_create", id=lille["id"], username=user["name"], role="editor")
        call_action("mel_enrolment_create", organization=lille["id"])

        page = app.get(
            "/dataset/new",
            headers={"Authorization": user["token"]},
            query_string={"group": lille["id"]},
        )
        assert page.status_code == 200
        body = html.unescape(page.body)
        for label in (
            "Titre",
            "Description",
            "Modèle de données",
            "Mots-clés",
            "Thèmes",
            "Commune",
            "Licence",
            "Fréquence de mise à jour",
            "Couverture temporelle",
            "Couverture géographique",
            "Point de contact",
            "Date de publication",
            "Date de dernière mise à jour",
            "Langue",
            "Conditions d'accès",
        ):
            assert label in body, label
        # Choices in French, defaults selected
        for choice in (
            "Éducation, culture et sport",
            "Annuelle",
            "Français",
            "Public",
            "Prénoms des nouveaux-nés (SCDL)",
            "Écoles (MEL)",
            "Licence Ouverte",
        ):
            assert choice in body, choice
        assert "Laissez vide : la commune est utilisée" in body

    def test_the_resource_form_is_in_french_and_lists_the_formats(self, app, lille):
        user = factories.UserWithToken()
        call_action("organization_member_create", id=lille["id"], username=user["name"], role="editor")
        call_action("mel_enrolment_create", organization=lille["id"])
        dataset = factories.Dataset(owner_org=lille["id"], user=user)

        page = app.get(f"/dataset/{dataset['name']}/resource/new", headers={"Authorization": user["token"]})
        assert page.status_code == 200
        body = html.unescape(page.body)
        for label in (
            "Fichier ou lien",
            "Nom",
            "Format",
            "Licence",
            "Laissez vide pour reprendre la licence",
        ):
            assert label in body, label
        assert '<option value="GeoJSON"' in page.body


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_dataset_page_shows_the_model_and_the_vocabularies_in_french(app, sysadmin, lille):
    dataset = _create(
        sysadmin,
        owner_org=lille["id"],
        data_model="mel-ecoles",
        frequency=EU + "frequency/ANNUAL",
        license_id="lov2",
    )
    page = html.unescape(app.get(f"/dataset/{dataset['name']}", status=200).body)
    for text in (
        "Modèle de données",
        "Écoles (MEL)",
        "Annuelle",
        "Éducation, culture et sport",
        "Licence Ouverte",
    ):
        assert text in page, text

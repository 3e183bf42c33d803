"""The national carpooling model, "Lieux de covoiturage" (etalab/schema-lieux-covoiturage 0.3.1),
and the MEL's own demo dataset that follows it.

The schema's custom checks are Validata's: `french-siren-value` on `source` (nine digits that pass
the Luhn checksum) and `opening-hours-value` on `horaires` (OpenStreetMap's opening_hours syntax).
A file that breaks either is invalid for data.gouv.fr's validator, so it must be for the portal too.
"""

from pathlib import Path

import pytest
from ckan import model
from ckan.tests.helpers import call_action

from ckanext.mel import communes, datamodels, tabular, validation
from ckanext.mel.demo import SAMPLES, load_demo_datasets, metropolitan_datasets

MODEL_ID = "lieux-covoiturage"
SAMPLE = SAMPLES / "mel-aires-de-covoiturage.csv"
HEADER = (
    "id_local,nom_lieu,ad_lieu,com_lieu,insee,type,date_maj,ouvert,source,Xlong,Ylat,"
    "nbre_pl,nbre_pmr,duree,horaires,proprio,lumiere,comm"
)
# One valid place: the MEL's SIREN (200093201 passes the Luhn checksum), OSM hours.
ROW = (
    "T-001,Porte des Postes,boulevard de Strasbourg,Lille,59350,Parking relais,2025-09-15,true,"
    "200093201,3.054994,50.630815,120,4,,Mo-Su 05:00-24:00,Métropole Européenne de Lille,true,"
)


def check(content: bytes) -> tabular.Report:
    data_model = datamodels.get(MODEL_ID)
    return tabular.check(content, data_model.schema(), (data_model.latitude, data_model.longitude))


def csv_file(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode("utf-8")


def errors_on(report: tabular.Report, column: str) -> list[dict]:
    return [error for error in report.errors if error.get("column") == column]


class TestTheModel:
    def test_is_the_official_file_unchanged_and_identified_by_its_url(self):
        data_model = datamodels.get(MODEL_ID)
        shipped = Path(datamodels.__file__).parent / data_model.schema_file
        assert data_model.official
        assert data_model.url == (
            "https://schema.data.gouv.fr/schemas/etalab/schema-lieux-covoiturage/0.3.1/schema.json"
        )
        assert data_model.schema()["title"] == "Lieux de covoiturage"
        assert {c["name"]: c["params"]["column"] for c in data_model.schema()["custom_checks"]} == {
            "french-siren-value": "source",
            "opening-hours-value": "horaires",
        }
        assert shipped.read_bytes().startswith(b"{")
        # Places are located by their WGS84 longitude and latitude columns.
        assert (data_model.longitude, data_model.latitude) == ("Xlong", "Ylat")
        assert data_model.theme_uri.endswith("/data-theme/TRAN")

    def test_a_valid_file_is_valid_with_the_extent_of_its_places(self):
        report = check(csv_file(ROW, ROW.replace("T-001", "T-002")))
        assert report.status == "valid", report.errors
        assert report.rows == 2
        assert report.bbox == pytest.approx([3.054994, 50.630815, 3.054994, 50.630815])

    def test_an_invalid_file_names_each_broken_column(self):
        broken = (
            ROW.replace("Parking relais", "Garage")  # not in the enum of place types
            .replace("2025-09-15", "15/09/2025")  # not an ISO date
            .replace(",59350,", ",59 350,")  # INSEE code pattern
        )
        report = check(csv_file(ROW, broken))
        assert report.status == "invalid"
        by_column = {error["column"]: error for error in report.errors if error.get("line") == 3}
        assert by_column["type"]["code"] == "constraint-error"
        assert by_column["type"]["constraint"] == "enum"
        assert by_column["date_maj"]["code"] == "type-error"
        assert by_column["insee"]["constraint"] == "pattern"
        assert not [error for error in report.errors if error.get("line") == 2]

    def test_a_missing_required_cell_is_an_error(self):
        report = check(csv_file(ROW.replace(",3.054994,", ",,")))
        assert report.status == "invalid"
        assert errors_on(report, "Xlong")


class TestCustomChecks:
    """Validata's semantics: an empty cell is not checked; a filled one must pass."""

    @pytest.mark.parametrize("siren", ["200093202", "123456789"])
    def test_a_siren_that_fails_its_checksum_is_invalid(self, siren):
        report = check(csv_file(ROW, ROW.replace("T-001", "T-002").replace("200093201", siren)))
        assert report.status == "invalid"
        found = errors_on(report, "source")
        assert [error["line"] for error in found] == [3]
        assert found[0]["value"] == siren

    def test_an_empty_siren_is_not_checked(self):
        assert check(csv_file(ROW.replace("200093201", ""))).status == "valid"

    @pytest.mark.parametrize("hours", ["Mo-Fr 08:00-20:00", "24/7", "Mo-Sa 07:00-19:00; Su off"])
    def test_osm_opening_hours_are_valid(self, hours):
        report = check(csv_file(ROW.replace("Mo-Su 05:00-24:00", f'"{hours}"')))
        assert report.status == "valid", report.errors

    @pytest.mark.parametrize("hours", ["du lundi au vendredi 8h-20h", "Mo-Fr 25:00-26:00", "tous les jours"])
    def test_opening_hours_outside_the_osm_syntax_are_invalid(self, hours):
        report = check(csv_file(ROW, ROW.replace("T-001", "T-002").replace("Mo-Su 05:00-24:00", hours)))
        assert report.status == "invalid"
        found = errors_on(report, "horaires")
        assert [error["line"] for error in found] == [3]

    def test_the_demo_sample_passes_every_check(self):
        report = check(SAMPLE.read_bytes())
        assert report.status == "valid", report.errors
        assert report.rows == 21


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestTheDemoDataset:
    def test_is_the_mels_own_valid_and_placed_in_the_metropolis(
        self, mel_organization, ckan_config, tmp_path, monkeypatch
    ):
        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        site_user = call_action("get_site_user")
        counts = load_demo_datasets({"user": site_user["name"]}, entries=metropolitan_datasets())

        assert counts == {"created": 1, "updated": 0, "invalid": 0}
        dataset = call_action("package_show", id="mel-aires-de-covoiturage")
        assert dataset["title"] == "Aires de covoiturage de la Métropole européenne de Lille"
        assert dataset["organization"]["name"] == communes.mel_organization_name()
        assert "Données fictives" in dataset["notes"]
        resource = dataset["resources"][0]
        assert resource["conforms_to"] == datamodels.get(MODEL_ID).url
        assert validation.show(resource["id"])["status"] == "valid"
        organization = model.Group.get(mel_organization["id"])
        assert not communes.is_commune(organization)
        # Found by a search on a box around Villeneuve-d'Ascq's Quatre Cantons.
        found = call_action("package_search", extras={"ext_bbox": "3.14,50.63,3.16,50.64"})["results"]
        assert "mel-aires-de-covoiturage" in {d["name"] for d in found}

"""Validation that agrees with Validata, data.gouv.fr's validator (validata-table 0.13.0).

The corpus (tests/files/validata/) holds tricky files; Validata's verdict on each
was recorded by running Validata itself on them (run_validata.py, validata.json).
The portal must give the same verdict, with the same number of errors and of
column warnings, except where the README says it deliberately reads more
(a spreadsheet's sheet named like the model).
"""

import csv
import functools
import html
import io
import json
from pathlib import Path

import openpyxl
import pytest
import stdnum.fr.siren
import stdnum.fr.siret
import yaml
from ckan.tests.helpers import call_action

from ckanext.mel import datamodels, extent, tabular, validation
from ckanext.mel.checks import custom, headers, spreadsheets

CORPUS = Path(__file__).parent / "files" / "validata"
ROOT = Path(__file__).parents[1]
CASES = json.loads((CORPUS / "cases.json").read_text("utf-8"))
VALIDATA = json.loads((CORPUS / "validata.json").read_text("utf-8"))
DEMO = ROOT / "ckanext" / "mel" / "demo"
# Validata's error types for the portal's codes: its custom checks all say "custom-check-error".
VALIDATA_TYPE = {
    "french-siret-value": "custom-check-error",
    "french-siren-value": "custom-check-error",
    "one-of-required-columns": "one-of-required",
}


@functools.cache
def _checked(file):
    (case,) = [c for c in CASES if c["file"] == file]
    return check_case(case)


def check_case(case):
    schema = json.loads((ROOT / case["schema"]).read_text("utf-8"))
    model = datamodels.get(case["model"])
    content = (CORPUS / case["file"]).read_bytes()
    return tabular.check(content, schema, sheet_names=model.sheet_names() if model else None)


class TestAgreementWithValidata:
    @pytest.mark.parametrize("case", [c for c in CASES if "portal" not in c], ids=lambda c: c["file"])
    def test_the_portal_gives_validatas_verdict(self, case):
        expected = VALIDATA["verdicts"][case["file"]]
        report = _checked(case["file"])

        assert report.status == ("valid" if expected["valid"] else "invalid"), (case["about"], report.errors)
        assert report.error_count == expected["error_count"], report.errors
        assert sorted({VALIDATA_TYPE.get(e["code"], e["code"]) for e in report.errors}) == expected["errors"]
        assert len(report.warnings) == len(expected["warnings"]), report.warnings

    def test_the_corpus_covers_every_custom_check_and_format(self):
        checked = {_checked(c["file"]).file_format for c in CASES}
        codes = {e["code"] for c in CASES for e in _checked(c["file"]).errors}
        warnings = {w["code"] for c in CASES for w in _checked(c["file"]).warnings}
        assert checked == {"csv", "xlsx", "ods"}
        assert {"french-siret-value", "french-siren-value", "one-of-required", "opening-hours-value"} <= codes
        assert {"one-of-required-columns", "missing-label", "type-error", "duplicate-label"} <= codes
        assert warnings == {headers.EXTRA, headers.DISORDERED, headers.MISSING_OPTIONAL}
        assert VALIDATA["validator"] == "validata-table 0.13.0"

    def test_a_sheet_named_like_the_model_is_read_where_validata_reads_the_first(self):
        (case,) = [c for c in CASES if c["file"] == "naissances-sheet-named-like-the-model.xlsx"]
        assert VALIDATA["verdicts"][case["file"]]["valid"] is False  # Validata read the notice
        report = check_case(case)
        assert (report.status, report.sheet, report.rows) == ("valid", "Naissances", 12)


class TestCustomChecks:
    """Validata's semantics, one rule at a time (checks/custom.py)."""

    @pytest.fixture
    def subventions(self):
        return datamodels.get("scdl-subventions").schema()

    def rows(self, lines):
        header = (
            "nomAttribuant;idAttribuant;dateConvention;nomBeneficiaire;idBeneficiaire;rnaBeneficiaire;"
            "objet;montant;nature;conditionsVersement;datesPeriodeVersement;notificationUE;pourcentageSubvention"
        )
        body = [
            f"Ville;{attribuant};2024-02-12;Club;{beneficiaire};{rna};Objet;100;aide en nature;unique;"
            "2024-03-01;non;0.5"
            for attribuant, beneficiaire, rna in lines
        ]
        return "\n".join([header, *body]).encode("utf-8") + b"\n"

    def test_a_siret_with_a_wrong_check_digit_is_an_error_naming_line_column_and_value(self, subventions):
        report = tabular.check(self.rows([("21590009300016", "21590009300018", "")]), subventions)
        assert report.status == "invalid"
        assert report.errors == [
            {
                "code": "french-siret-value",
                "line": 2,
                "column": "idAttribuant",
                "position": 2,
                "value": "21590009300016",
            }
        ]

    @pytest.mark.parametrize(
        "siret, valid",
        [
            ("21590009300018", True),
            ("215 900 093 00018", True),  # python-stdnum (and so Validata) ignores spaces and dots
            ("215.900.093.00018", True),
            ("35600000000105", True),  # La Poste: sum of digits a multiple of 5
            ("35600000000048", True),  # La Poste's head office: Luhn
            ("35600000000101", False),
            ("21590009300019", False),
            ("2159000930001", False),
            ("2159000930001A", False),
        ],
    )
    def test_siret_rules_are_python_stdnums(self, subventions, siret, valid):
        report = tabular.check(self.rows([("21590009300018", siret, "")]), subventions)
        assert (report.status == "valid") is valid, report.errors
        assert stdnum.fr.siret.is_valid(siret) is valid

    def test_a_siren_is_checked_on_its_column_and_an_empty_optional_one_is_not(self):
        schema = datamodels.get("schema-dae").schema()
        content = (DEMO / "samples" / "villeneuve-d-ascq-defibrillateurs.csv").read_text("utf-8")
        assert tabular.check(content.encode(), schema).status == "valid"
        wrong = content.replace(",215900093,", ",215900094,", 1).encode()
        report = tabular.check(wrong, schema)
        assert [(e["code"], e["column"], e["line"]) for e in report.errors] == [
            ("french-siren-value", "expt_siren", 2)
        ]

    def test_one_of_two_ids_is_required_on_each_line(self, subventions):
        lines = [
            ("21590009300018", "", "W595012001"),
            ("21590009300018", "", ""),
            ("21590009300018", "21590009300018", ""),
        ]
        report = tabular.check(self.rows(lines), subventions)
        assert [(e["code"], e["line"], e["columns"]) for e in report.errors] == [
            ("one-of-required", 3, ["idBeneficiaire", "rnaBeneficiaire"])
        ]

    def test_an_unknown_custom_check_makes_the_file_not_checkable(self):
        schema = {
            "fields": [{"name": "a", "type": "string"}],
            "custom_checks": [{"name": "cohesive-columns-value", "params": {"column": "a"}}],
        }
        report = tabular.check(b"a\nx\n", schema)
        assert report.status == "error"
        assert report.errors == [{"code": "unsupported-check", "name": "cohesive-columns-value"}]

    def test_every_custom_check_of_the_shipped_models_is_run(self):
        for data_model in datamodels.all_models():
            assert custom.unsupported(data_model.schema()) == [], data_model.id
            assert len(custom.build(data_model.schema())) == len(custom.declared(data_model.schema()))

    def test_a_check_declared_on_a_field_is_run_too(self):
        schema = {"fields": [{"name": "siren", "type": "string", "customCheck": "french-siren-value"}]}
        assert tabular.check(b"siren\n215900093\n", schema).status == "valid"
        assert tabular.check(b"siren\n215900094\n", schema).errors[0]["code"] == "french-siren-value"


class TestDemoData:
    @pytest.mark.parametrize(
        "entry", yaml.safe_load((DEMO / "datasets.yaml").read_text("utf-8")), ids=lambda e: e["file"]
    )
    def test_each_demo_file_is_valid_and_passes_every_custom_check(self, entry):
        data_model = datamodels.get(entry["data_model"])
        content = (DEMO / "samples" / entry["file"]).read_bytes()
        report = tabular.check(content, data_model.schema())
        assert report.status == "valid", report.errors

        # Each value of each column a custom check names, one by one, with Validata's rule.
        text, _encoding, _bom = tabular.decode(content)
        delimiter = tabular.detect_delimiter(text, data_model.field_names())
        reader = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
        rules = {
            "french-siret-value": stdnum.fr.siret.is_valid,
            "french-siren-value": stdnum.fr.siren.is_valid,
        }
        for name, column in custom.columns_checked(data_model.schema()):
            values = [row[column] for row in reader if row.get(column)]
            assert all(rules[name](value) for value in values), (column, values)

    def test_the_samples_that_carry_sirets_say_they_are_fictional(self):
        for entry in yaml.safe_load((DEMO / "datasets.yaml").read_text("utf-8")):
            if custom.declared(datamodels.get(entry["data_model"]).schema()):
                assert "fictives" in entry["notes"] and "SIRET" in entry["notes"], entry["file"]


def workbook(header, rows, title="Feuille1"):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for line in [header, *rows]:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class TestSpreadsheets:
    NAISSANCES = ["COLL_INSEE", "COLL_NOM", "PERIODE_DEBUT", "PERIODE_FIN", "NAISSANCES"]

    def test_an_ods_and_an_xlsx_are_recognised_by_their_content(self):
        assert spreadsheets.kind_of((CORPUS / "naissances.ods").read_bytes()) == "ods"
        assert spreadsheets.kind_of((CORPUS / "subventions.xlsx").read_bytes()) == "xlsx"
        assert spreadsheets.kind_of(b"PK\x03\x04 not a zip") is None
        assert spreadsheets.kind_of(b"COLL_INSEE\n") is None

    def test_a_number_typed_where_text_is_expected_gets_a_hint(self):
        schema = datamodels.get("mel-naissances").schema()
        content = workbook(self.NAISSANCES, [[59017, "Armentières", "2024-01-01", "2024-01-31", 3]])
        report = tabular.check(content, schema)
        assert report.status == "invalid"
        assert [(e["code"], e["column"], e["type"]) for e in report.errors] == [
            ("type-error", "COLL_INSEE", "string")
        ]

    def test_a_zip_that_unpacks_too_far_is_refused_before_reading(self, monkeypatch):
        monkeypatch.setattr(spreadsheets, "MAX_UNPACKED", 1000)
        report = tabular.check(
            (CORPUS / "subventions.xlsx").read_bytes(), datamodels.get("scdl-subventions").schema()
        )
        assert report.status == "error"
        assert report.errors[0]["code"] == "spreadsheet-too-large"

    def test_a_broken_workbook_is_reported_not_raised(self):
        content = (CORPUS / "subventions.xlsx").read_bytes()
        report = tabular.check(content[: len(content) // 2], datamodels.get("scdl-subventions").schema())
        assert report.status == "error"


class TestPointsOutsideTheCommune:
    def test_points_outside_the_area_are_left_out_and_counted(self):
        schema = datamodels.get("scdl-equipements").schema()
        content = (CORPUS / "coordinates-swapped.csv").read_bytes()
        lille = [3.0, 50.6, 3.1, 50.66]
        swapped = tabular.check(content, schema, ("EQUIP_LAT", "EQUIP_LONG"), area=lille)
        assert swapped.status == "valid"
        assert (swapped.bbox, swapped.points, swapped.points_outside) == (None, 0, 8)

        right = (DEMO / "samples" / "lille-equipements-publics.csv").read_bytes()
        report = tabular.check(right, schema, ("EQUIP_LAT", "EQUIP_LONG"), area=lille)
        assert (report.points, report.points_outside) == (8, 0)
        assert lille[0] <= report.bbox[0] <= report.bbox[2] <= lille[2]

    def test_the_area_is_the_communes_box_widened_by_the_margin(self):
        square = {
            "type": "Polygon",
            "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.67]]],
        }
        assert extent.geometry_box(square) == [2.85, 50.67, 2.91, 50.71]
        multi = {
            "type": "MultiPolygon",
            "coordinates": [[[[1, 2], [3, 4], [1, 2]]], [[[0, 5], [2, 6], [0, 5]]]],
        }
        assert extent.geometry_box(multi) == [0, 2, 3, 6]


# Through the portal: uploads, the API and the resource page


@pytest.fixture
def lille(commune_factory):
    square = {
        "type": "Polygon",
        "coordinates": [[[3.0, 50.6], [3.12, 50.6], [3.12, 50.68], [3.0, 50.68], [3.0, 50.6]]],
    }
    return commune_factory(name="lille", title="Lille", insee_code="59350", boundary=json.dumps(square))


@pytest.fixture
def dataset(model_dataset, lille):
    return functools.partial(model_dataset, lille)


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestThroughThePortal:
    def test_an_xlsx_upload_is_checked_like_a_csv(self, dataset, upload):
        resource = upload(
            dataset("scdl-subventions"), (CORPUS / "subventions.xlsx").read_bytes(), "subventions.xlsx"
        )
        report = call_action("mel_validation_show", id=resource["id"])
        assert (report["status"], report["format"], report["sheet"], report["rows"]) == (
            "valid",
            "xlsx",
            "Sheet",
            8,
        )

    def test_package_show_and_resource_show_carry_each_resources_status_and_date(self, dataset, upload):
        created = dataset("scdl-subventions")
        good = upload(created, (CORPUS / "windows-1252-semicolon.csv").read_bytes(), "bonnes.csv")
        bad = upload(created, (CORPUS / "siret-demo-before-fix.csv").read_bytes(), "mauvaises.csv")
        notice = upload(created, b"%PDF-1.7\n", "notice.pdf")

        shown = {r["id"]: r for r in call_action("package_show", id=created["id"])["resources"]}
        assert shown[good["id"]]["validation_status"] == "success"
        assert shown[bad["id"]]["validation_status"] == "failure"
        assert "validation_status" not in shown[notice["id"]]
        report = call_action("mel_validation_show", id=bad["id"])
        assert shown[bad["id"]]["validation_timestamp"] == report["finished"]
        assert call_action("resource_show", id=bad["id"])["validation_status"] == "failure"

        found = call_action("package_search", q=f"id:{created['id']}")["results"][0]
        assert {r["id"]: r.get("validation_status") for r in found["resources"]}[bad["id"]] == "failure"

    def test_a_status_sent_back_by_a_client_is_not_stored(self, dataset, upload, sysadmin):
        created = dataset("scdl-subventions")
        resource = upload(created, (CORPUS / "siret-demo-before-fix.csv").read_bytes(), "mauvaises.csv")
        call_action(
            "resource_patch",
            context={"user": sysadmin["name"]},
            id=resource["id"],
            validation_status="success",
            validation_timestamp="2000-01-01T00:00:00",
        )
        shown = call_action("resource_show", id=resource["id"])
        assert shown["validation_status"] == "failure"
        assert shown["validation_timestamp"] != "2000-01-01T00:00:00"

    def test_the_report_words_custom_checks_and_warnings_in_french(self, app, dataset, upload):
        created = dataset("scdl-subventions")
        bad = upload(created, (CORPUS / "siret-demo-before-fix.csv").read_bytes(), "mauvaises.csv")
        extra = upload(created, (CORPUS / "subventions-extra-column.xlsx").read_bytes(), "en-plus.xlsx")

        report = app.get("/api/3/action/mel_validation_show", query_string={"id": bad["id"]}).json["result"]
        assert report["errors"][0]["message"] == (
            "Ligne 2, colonne idAttribuant : « 21590009300016 » n'est pas un numéro SIRET valide : "
            "14 chiffres, dont le dernier est une clé de contrôle (clé de Luhn)."
        )
        report = app.get("/api/3/action/mel_validation_show", query_string={"id": extra["id"]}).json["result"]
        assert report["status"] == "valid"
        assert [w["message"] for w in report["warnings"]] == [
            "La colonne « COMMENTAIRE » n'est pas dans le modèle : elle n'a pas été vérifiée."
        ]
        page = html.unescape(app.get(f"/dataset/{created['name']}/resource/{extra['id']}").body)
        assert "La colonne « COMMENTAIRE » n'est pas dans le modèle" in page
        assert "Lu dans la feuille « Sheet » du fichier XLSX." in page

    def test_swapped_coordinates_leave_the_extent_in_the_commune_and_are_counted(self, app, dataset, upload):
        created = dataset("scdl-equipements")
        resource = upload(created, (CORPUS / "coordinates-swapped.csv").read_bytes(), "equipements.csv")

        report = validation.show(resource["id"])
        assert (report["status"], report["points"], report["points_outside"]) == ("valid", 0, 8)
        coverage = call_action("package_show", id=created["id"])["spatial_coverage"]
        box = extent.geometry_box(json.loads(coverage[0]["geom"]))
        assert box == [3.0, 50.6, 3.12, 50.68]  # the commune's boundary, not a box from 3° to 50°
        page = html.unescape(app.get(f"/dataset/{created['name']}/resource/{resource['id']}").body)
        assert "8 points hors de la commune ignorés" in page

    def test_the_extent_is_written_without_a_second_package_update(self, dataset, upload):
        created = dataset("scdl-equipements")
        before = call_action("package_activity_list", id=created["id"])
        corner = call_action("package_search", extras={"ext_bbox": "3.0,50.665,3.02,50.68"})
        assert created["name"] in [d["name"] for d in corner["results"]]
        upload(created, (DEMO / "samples" / "lille-equipements-publics.csv").read_bytes(), "equipements.csv")

        shown = call_action("package_show", id=created["id"])
        box = extent.geometry_box(json.loads(shown["spatial_coverage"][0]["geom"]))
        assert 3.03 < box[0] < box[2] < 3.1
        # The upload is one activity; a package_patch by the site user would have been a second.
        after = call_action("package_activity_list", id=created["id"])
        assert len(after) == len(before) + 1
        # And the search index has the new extent (the commit reindexed the dataset): found near
        # the points, no longer in the commune's corner far from them.
        near = call_action("package_search", extras={"ext_bbox": "3.06,50.62,3.08,50.64"})
        corner = call_action("package_search", extras={"ext_bbox": "3.0,50.665,3.02,50.68"})
        assert created["name"] in [d["name"] for d in near["results"]]
        assert created["name"] not in [d["name"] for d in corner["results"]]

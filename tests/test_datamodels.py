"""The data models: the registry, the schemas served by the portal, each model
against its sample and against broken samples, and the demo datasets."""

import hashlib
import re
from pathlib import Path

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from frictionless import Schema

from ckanext.mel import communes, datamodels, tabular, validation
from ckanext.mel.demo import SAMPLES, demo_datasets, load_demo_datasets

OFFICIAL = Path(datamodels.__file__).parent / "official"


def sample(data_model_id):
    entry = next(e for e in demo_datasets() if e["data_model"] == data_model_id)
    return (SAMPLES / entry["file"]).read_bytes()


def check(data_model_id, content):
    data_model = datamodels.get(data_model_id)
    coordinates = (data_model.latitude, data_model.longitude) if data_model.has_coordinates else None
    return tabular.check(content, data_model.schema(), coordinates)


class TestRegistry:
    def test_there_is_a_model_per_theme_of_the_first_communes(self):
        assert {m.id for m in datamodels.all_models()} == {
            "scdl-prenoms",
            "scdl-subventions",
            "scdl-equipements",
            "schema-dae",
            "scdl-budget",
            "mel-naissances",
            "mel-ecoles",
            "mel-associations",
            "mel-parcs-jardins",
            "mel-monuments-historiques",
            "lieux-covoiturage",
        }

    @pytest.mark.parametrize("data_model", datamodels.all_models(), ids=lambda m: m.id)
    def test_each_schema_is_a_valid_table_schema_whose_place_columns_exist(self, data_model):
        report = Schema.validate_descriptor(data_model.schema())
        assert report.valid, report.flatten(["type", "note"])
        for column in (data_model.latitude, data_model.longitude):
            assert column is None or column in data_model.field_names()

    @pytest.mark.parametrize(
        "model_id, url",
        [
            ("scdl-prenoms", "https://schema.data.gouv.fr/schemas/scdl/prenoms/1.1.6/schema.json"),
            (
                "scdl-subventions",
                "https://schema.data.gouv.fr/schemas/scdl/subventions/2.1.1/schema.json",
            ),
            (
                "scdl-equipements",
                "https://schema.data.gouv.fr/schemas/scdl/equipements/0.1.5/schema.json",
            ),
            (
                "schema-dae",
                "https://schema.data.gouv.fr/schemas/atlasante/schema-dae/1.0.7/schema.json",
            ),
            ("scdl-budget", "https://schema.data.gouv.fr/schemas/scdl/budget/0.8.3/schema.json"),
            (
                "lieux-covoiturage",
                "https://schema.data.gouv.fr/schemas/etalab/schema-lieux-covoiturage/0.3.1/schema.json",
            ),
        ],
    )
    def test_official_models_are_identified_by_their_schema_data_gouv_fr_url(self, model_id, url):
        assert datamodels.get(model_id).url == url

    def test_official_copies_are_byte_for_byte_the_upstream_files(self):
        """Their git blob ids are those SOURCES.md recorded upstream."""
        sources = (OFFICIAL / "SOURCES.md").read_text(encoding="utf-8")
        for data_model in datamodels.all_models():
            if not data_model.official:
                continue
            content = (Path(datamodels.__file__).parent / data_model.schema_file).read_bytes()
            blob = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
            name = Path(data_model.schema_file).name
            assert re.search(rf"`{re.escape(name)}`.*\| {blob}[ |]", sources), name

    def test_mel_models_identify_rows_by_the_communes_insee_code_and_speak_french(self):
        for data_model in datamodels.all_models():
            if data_model.official:
                continue
            schema = data_model.schema()
            assert schema["fields"][0]["name"] == "COLL_INSEE"
            assert schema["fields"][0]["constraints"]["required"] is True
            assert schema["countryCode"] == "FR"
            assert all(f["title"] and f["description"] for f in schema["fields"])
            assert data_model.url == f"http://test.ckan.net/data-models/{data_model.id}/schema.json"


class TestServedSchemas:
    def test_a_mel_model_is_served_at_the_url_that_identifies_it(self, app):
        data_model = datamodels.get("mel-ecoles")
        response = app.get("/data-models/mel-ecoles/schema.json")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.data == (Path(datamodels.__file__).parent / data_model.schema_file).read_bytes()
        assert data_model.url.endswith("/data-models/mel-ecoles/schema.json")

    def test_an_unknown_model_is_not_found(self, app):
        assert app.get("/data-models/nothing/schema.json").status_code == 404

    def test_the_api_lists_the_models(self):
        models = {m["id"]: m for m in call_action("mel_data_model_list")}
        assert models["schema-dae"]["coordinates"] == ["lat_coor1", "long_coor1"]
        assert models["mel-naissances"]["coordinates"] is None
        assert models["scdl-budget"]["official"] is True


class TestModelsAgainstSamples:
    @pytest.mark.parametrize("entry", demo_datasets(), ids=lambda e: e["data_model"])
    def test_each_model_accepts_its_sample(self, entry):
        report = check(entry["data_model"], (SAMPLES / entry["file"]).read_bytes())
        assert report.status == "valid", report.errors
        assert report.rows >= 6
        assert (report.bbox is not None) == datamodels.get(entry["data_model"]).has_coordinates

    @pytest.mark.parametrize(
        "model_id, before, after, expected",
        [
            (
                "scdl-prenoms",
                b",Jade,",
                b",jade,",
                ("constraint-error", "ENFANT_PRENOM", "pattern"),
            ),
            ("scdl-prenoms", b",F,Jade,", b",X,Jade,", ("constraint-error", "ENFANT_SEXE", "enum")),
            ("scdl-subventions", b";18500.00;", b";18 500,00;", ("type-error", "montant", None)),
            (
                "scdl-subventions",
                b";0.35;",
                b";1.35;",
                ("constraint-error", "pourcentageSubvention", "maximum"),
            ),
            (
                "scdl-equipements",
                b"21590350100017",
                b"215903501",
                ("constraint-error", "COLL_SIRET", "pattern"),
            ),
            ("schema-dae", b"VDA-DAE-0002", b"VDA-DAE-0001", ("unique-error", "num_serie", None)),
            ("schema-dae", b"50.6149", b"95.6149", ("constraint-error", "lat_coor1", "maximum")),
            (
                "scdl-budget",
                b"compte administratif;2023",
                b"compte administratif;23",
                ("type-error", "BGT_ANNEE", None),
            ),
            ("mel-naissances", b"2024-03-01", b"01/03/2024", ("type-error", "PERIODE_DEBUT", None)),
            ("mel-ecoles", b"0590105E", b"590105", ("constraint-error", "ECOLE_UAI", "pattern")),
            (
                "mel-ecoles",
                b";maternelle;",
                b";cr\xc3\xa8che;",
                ("constraint-error", "ECOLE_TYPE", "enum"),
            ),
            (
                "mel-associations",
                b";sport;",
                b";Sport;",
                ("constraint-error", "ASSO_DOMAINE", "enum"),
            ),
            (
                "mel-parcs-jardins",
                b",oui,non,",
                b",peut-\xc3\xaatre,non,",
                ("type-error", "ACCES_PMR", None),
            ),
            (
                "mel-parcs-jardins",
                b"59350-PJ002",
                b"59350-PJ001",
                ("unique-error", "PARC_ID", None),
            ),
            (
                "mel-monuments-historiques",
                b",inscrit,",
                b",inscrite,",
                ("constraint-error", "MH_PROTECTION", "enum"),
            ),
            (
                "mel-monuments-historiques",
                b"50.6380,3.0663",
                b"50,6380,3,0663",
                ("extra-cell", "", None),
            ),
        ],
    )
    def test_a_broken_sample_yields_the_expected_error(self, model_id, before, after, expected):
        content = sample(model_id)
        if model_id == "mel-associations":  # the sample is Windows-1252
            before, after = before.decode().encode("cp1252"), after.decode().encode("cp1252")
        assert content.count(before) >= 1, "the mutation must apply"
        report = check(model_id, content.replace(before, after, 1))

        assert report.status == "invalid"
        found = {(e["code"], e.get("column", ""), e.get("constraint")) for e in report.errors}
        assert expected in found

    def test_a_sample_with_its_columns_in_another_order_is_reported(self):
        # Columns are matched by name, as Validata does: another order is a warning, not an error.
        lines = sample("mel-naissances").decode().splitlines()
        swapped = [",".join([c[1], c[0], *c[2:]]) for c in (line.split(",") for line in lines)]
        report = check("mel-naissances", "\n".join(swapped).encode())
        assert report.errors == []
        assert [w["code"] for w in report.warnings] == ["disordered-columns"]


DEMO_COMMUNES = ("armentieres", "ennetieres-en-weppes", "lille", "villeneuve-d-ascq")


@pytest.fixture
def demo_communes(commune_factory):
    reference = {c.name: c for c in communes.reference_communes()}
    return [commune_factory(name=name, **reference[name].fields()) for name in DEMO_COMMUNES]


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "demo_communes")
class TestDemo:
    @pytest.fixture
    def context(self):
        site_user = call_action("get_site_user")
        return {"user": site_user["name"]}

    def test_the_ten_datasets_are_loaded_valid_and_found_where_their_data_is(
        self, context, ckan_config, tmp_path, monkeypatch
    ):
        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        lines = []
        counts = load_demo_datasets(context, progress=lines.append)

        assert counts == {"created": 10, "updated": 0, "invalid": 0}
        assert len(lines) == 10 and all(line.endswith(": valid") for line in lines)
        datasets = call_action("package_search", rows=20)["results"]
        assert len(datasets) == 10
        for dataset in datasets:
            resource = dataset["resources"][0]
            assert validation.show(resource["id"])["status"] == "valid"
            assert resource["mimetype"] == "text/csv" and resource["size"] > 0
            assert resource["conforms_to"] == datamodels.get(dataset["data_model"]).url

        # The Lille parks: found near the Jardin des Plantes, not in Lille's far west (Lomme side).
        def found(bbox):
            return {d["name"] for d in call_action("package_search", extras={"ext_bbox": bbox})["results"]}

        assert "lille-parcs-et-jardins" in found("3.075,50.615,3.080,50.620")
        assert "lille-parcs-et-jardins" not in found("2.970,50.600,2.990,50.615")
        # Without places, the commune's boundary: the births of Armentières.
        assert "armentieres-naissances" in found("2.857,50.680,2.862,50.690")

    def test_the_demo_datasets_score_excellent(self, context, ckan_config, tmp_path, monkeypatch):
        from ckanext.mel import quality

        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        load_demo_datasets(context)
        for entry in demo_datasets():
            dataset = call_action("package_show", id=entry["name"])
            result = quality.dataset_quality(dataset)
            assert result["rating"] == "excellent", (entry["name"], result["missing"])

    def test_loading_again_updates_and_never_duplicates(self, context, ckan_config, tmp_path, monkeypatch):
        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        load_demo_datasets(context)
        first = {
            d["name"]: d["resources"][0]["id"] for d in call_action("package_search", rows=20)["results"]
        }

        counts = load_demo_datasets(context)

        assert counts == {"created": 0, "updated": 10, "invalid": 0}
        again = {
            d["name"]: d["resources"][0]["id"] for d in call_action("package_search", rows=20)["results"]
        }
        assert again == first
        assert all(len(call_action("package_show", id=name)["resources"]) == 1 for name in again)

    @pytest.fixture
    def demo_cli(self, ckan_config, monkeypatch, with_extended_cli):
        """CKAN's command line on the demo's configuration: portal.ini's plugins, then mel_demo."""
        plugins = tk.aslist(ckan_config["ckan.plugins"])
        monkeypatch.setitem(ckan_config, "ckan.plugins", " ".join([*plugins, "mel_demo"]))

    @pytest.mark.usefixtures("demo_cli")
    def test_the_cli_loads_them(self, cli, ckan_config, tmp_path, monkeypatch, mel_organization):
        from ckan.cli.cli import ckan

        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        result = cli.invoke(ckan, ["mel-demo", "datasets"])
        assert result.exit_code == 0, result.output
        # The communes' ten, then the MEL's own (the carpooling places).
        assert "10 created, 0 updated, 0 not valid" in result.output
        assert "1 created, 0 updated, 0 not valid" in result.output

    @pytest.mark.usefixtures("demo_cli")
    def test_an_agent_gets_the_password_of_the_environment_not_of_the_command_line(self, cli, monkeypatch):
        from ckan import authz, model
        from ckan.cli.cli import ckan

        monkeypatch.setenv("MEL_AGENT_PASSWORD", "mot-de-passe-de-demo")
        result = cli.invoke(ckan, ["mel-demo", "agent", "agent-demo"])
        assert result.exit_code == 0, result.output
        assert "agent-demo: editor of lille" in result.output
        assert model.User.get("agent-demo").validate_password("mot-de-passe-de-demo")
        assert authz.users_role_for_group_or_org("lille", "agent-demo") == "editor"
        # A password on the command line is no argument the command takes.
        refused = cli.invoke(ckan, ["mel-demo", "agent", "autre-agent", "secret"])
        assert refused.exit_code == 2
        assert model.User.get("autre-agent") is None

    def test_a_production_portal_has_no_demo_commands(self, cli):
        """portal.ini's plugins alone (what test.ini and a production portal load)."""
        from ckan.cli.cli import ckan

        for arguments in (["mel-demo", "load"], ["mel", "demo", "load"]):
            result = cli.invoke(ckan, arguments)
            assert result.exit_code == 2, result.output
            assert "No such command" in result.output


def test_a_demo_dataset_needs_its_commune(clean_db):
    site_user = call_action("get_site_user")
    factories.Organization(name="lille")  # not a commune: no INSEE code
    with pytest.raises(tk.ObjectNotFound, match="load the communes first"):
        load_demo_datasets({"user": site_user["name"]})

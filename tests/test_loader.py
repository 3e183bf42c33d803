"""The typed loader: valid files in the DataStore with their data model's column types,
reloaded when the file changes, taken out when it turns invalid, with table and map
views and exports (ckanext/mel/loader/)."""

import csv
import datetime
import functools
import html
import io
import json

import pytest
from ckan.lib import jobs
from ckan.tests.helpers import call_action
from ckanext.datastore.tests import helpers as datastore_helpers
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from ckanext.mel import communes, datamodels, demo, quality, tabular, validation
from ckanext.mel.consolidation import jobs as consolidation_jobs
from ckanext.mel.loader import fields, state
from tests.dcat_data import DCAT_AP_2_QUERY, get_graph
from tests.test_dcat_shacl import ACCEPTED_DCAT_AP_3

HEADER = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS"
ROWS = [
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16",
    "59017,Armentières,2024-02-01,2024-02-29,27,14,13",
]
DEMO_COMMUNES = ("armentieres", "ennetieres-en-weppes", "lille", "villeneuve-d-ascq")
WITH_COORDINATES = {
    "armentieres-localisation-des-ecoles",
    "ennetieres-en-weppes-associations",
    "lille-equipements-publics",
    "lille-monuments-historiques",
    "lille-parcs-et-jardins",
    "villeneuve-d-ascq-defibrillateurs",
}


def naissances(rows=ROWS):
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


@pytest.fixture
def clean_datastore(clean_db, clean_index):
    """The DataStore database emptied, as CKAN's own DataStore tests do."""
    engine = datastore_helpers.db.get_write_engine()
    datastore_helpers.rebuild_all_dbs(
        datastore_helpers.orm.scoped_session(datastore_helpers.orm.sessionmaker(bind=engine))
    )


def work():
    """Run the queued jobs, as `make run`'s workers do (the file checks' and loads' queue, then
    the metropolitan datasets')."""
    jobs.Worker(["default", consolidation_jobs.QUEUE]).work(burst=True)


@pytest.fixture
def dataset(model_dataset, commune_factory):
    armentieres = commune_factory(name="armentieres", title="Armentières", insee_code="59017")
    return functools.partial(model_dataset, armentieres)


@pytest.fixture
def upload(upload):
    """conftest's, with the format said (as the resource form sends it)."""
    return functools.partial(upload, format="CSV")


def search(resource_id, **params):
    return call_action("datastore_search", resource_id=resource_id, **params)


@pytest.mark.usefixtures("clean_datastore", "clean_queues", "with_test_worker")
class TestLoading:
    def test_a_valid_file_is_loaded_with_the_models_types(self, dataset, upload):
        resource = upload(dataset(), naissances())

        work()

        result = search(resource["id"], sort="PERIODE_DEBUT desc")
        types = {f["id"]: f["type"] for f in result["fields"]}
        assert types == {
            "_id": "int",
            "COLL_INSEE": "text",
            "COLL_NOM": "text",
            "PERIODE_DEBUT": "date",
            "PERIODE_FIN": "date",
            "NAISSANCES": "int8",
            "NAISSANCES_FILLES": "int8",
            "NAISSANCES_GARCONS": "int8",
        }
        assert result["total"] == 2
        assert result["records"][0]["PERIODE_DEBUT"] == "2024-02-01"
        assert result["records"][0]["NAISSANCES"] == 27
        # A filter and a sort on the typed columns, as an application asks.
        filtered = search(resource["id"], filters={"PERIODE_FIN": "2024-01-31"})
        assert [r["NAISSANCES"] for r in filtered["records"]] == [31]
        loaded = state.DatastoreLoad.get(resource["id"])
        assert (loaded.status, loaded.rows) == (state.LOADED, 2)
        assert call_action("resource_show", id=resource["id"])["datastore_active"] is True

    def test_a_new_file_reloads_the_table(self, dataset, upload, sysadmin):
        resource = upload(dataset(), naissances())
        work()

        call_action(
            "resource_patch",
            context={"user": sysadmin["name"]},
            id=resource["id"],
            upload=_file(naissances(ROWS + ["59017,Armentières,2024-03-01,2024-03-31,30,14,16"])),
        )
        work()

        assert search(resource["id"])["total"] == 3
        assert state.DatastoreLoad.get(resource["id"]).rows == 3

    def test_a_file_that_turns_invalid_is_taken_out_of_the_api(self, app, dataset, upload, sysadmin):
        package = dataset()
        resource = upload(package, naissances())
        work()

        call_action(
            "resource_patch",
            context={"user": sysadmin["name"]},
            id=resource["id"],
            upload=_file(naissances(["59017,Armentières,31/01/2024,2024-01-31,31,15,16"])),
        )

        assert validation.show(resource["id"])["status"] == validation.INVALID
        with pytest.raises(tk_ObjectNotFound()):
            search(resource["id"])
        assert state.DatastoreLoad.get(resource["id"]).status == state.REMOVED
        assert call_action("resource_view_list", id=resource["id"]) == []
        page = html.unescape(app.get(f"/dataset/{package['name']}/resource/{resource['id']}").body)
        assert 'data-api="removed"' in page
        assert "ses lignes ont été retirées de l'API" in page

    def test_a_spreadsheet_is_loaded_typed_like_a_csv_file(self, dataset, create_with_upload, sysadmin):
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(HEADER.split(","))
        sheet.append(
            ["59017", "Armentières", datetime.date(2024, 1, 1), datetime.date(2024, 1, 31), 31, 15, 16]
        )
        content = io.BytesIO()
        workbook.save(content)
        resource = create_with_upload(
            content.getvalue(),
            "naissances.xlsx",
            package_id=dataset()["id"],
            format="XLSX",
            context={"user": sysadmin["name"]},
        )
        work()

        assert validation.show(resource["id"])["status"] == validation.VALID
        record = search(resource["id"])["records"][0]
        assert (record["PERIODE_FIN"], record["NAISSANCES"]) == ("2024-01-31", 31)

    def test_a_file_without_a_data_model_is_not_loaded(self, dataset, upload):
        resource = upload(dataset(data_model=""), naissances())
        work()

        assert state.DatastoreLoad.get(resource["id"]) is None
        with pytest.raises(tk_ObjectNotFound()):
            search(resource["id"])

    def test_a_failed_load_leaves_no_half_written_table(self, dataset, upload, monkeypatch):
        from ckanext.mel.loader import jobs as loader_jobs

        resource = upload(dataset(), naissances())
        original = loader_jobs.typed_rows

        def rows_then_failure(content, schema, sheet_names=None):
            rows = original(content, schema, sheet_names)
            yield next(rows)
            raise loader_jobs.LoadError("the file changed while it was read")

        monkeypatch.setattr(loader_jobs, "typed_rows", rows_then_failure)
        work()

        loaded = state.DatastoreLoad.get(resource["id"])
        assert (loaded.status, loaded.error) == (state.ERROR, "the file changed while it was read")
        with pytest.raises(tk_ObjectNotFound()):
            search(resource["id"])


def tk_ObjectNotFound():
    import ckan.plugins.toolkit as tk

    return tk.ObjectNotFound


def _file(content):
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(content), "donnees.csv", content_type="text/csv")


@pytest.fixture
def demo_communes(commune_factory):
    reference = {c.name: c for c in communes.reference_communes()}
    return [commune_factory(name=name, **reference[name].fields()) for name in DEMO_COMMUNES]


@pytest.fixture
def loaded_demo(demo_communes, ckan_config, tmp_path, monkeypatch):
    """The ten demo datasets as `ckan mel-demo load` makes them, after the job worker ran."""
    monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
    site_user = call_action("get_site_user")
    demo.load_demo_datasets({"user": site_user["name"]})
    work()
    return {entry["name"]: call_action("package_show", id=entry["name"]) for entry in demo.demo_datasets()}


def shacl_results_on(graph, shapes, services):
    """The SHACL results (any severity) about the data services or their endpoints, and every
    violation but those tests/test_dcat_shacl.py accepts: what the access services could break."""
    from pathlib import Path

    from pyshacl import validate
    from rdflib import Namespace

    import ckanext.mel

    sh = Namespace("http://www.w3.org/ns/shacl#")
    _conforms, results, _text = validate(
        graph, shacl_graph=str(Path(ckanext.mel.__file__).parent / "data" / shapes)
    )
    found = []
    for result in results.subjects(RDF.type, sh.ValidationResult):
        focus = results.value(result, sh.focusNode)
        path = results.value(result, sh.resultPath)
        severity = results.value(result, sh.resultSeverity)
        message = str(results.value(result, sh.resultMessage))
        if focus in services or path == DCAT.accessService:
            found.append((str(focus), str(path), message))
        elif severity == sh.Violation and message not in ACCEPTED_DCAT_AP_3:
            found.append((str(focus), str(path), message))
    return found


def expected_types(data_model):
    """What the model declares, as DataStore types: read from the schema, not from the file."""
    coordinates = (data_model.latitude, data_model.longitude) if data_model.has_coordinates else None
    return {column.id: column.type for column in fields.columns(data_model.schema(), coordinates)}


@pytest.mark.usefixtures("clean_datastore", "clean_queues", "with_test_worker")
class TestDemo:
    def test_the_ten_demo_files_are_in_the_datastore_typed_with_views_and_their_api_in_dcat(
        self, app, loaded_demo
    ):
        assert len(loaded_demo) == 10
        for name, dataset in loaded_demo.items():
            resource = dataset["resources"][0]
            data_model = datamodels.get(dataset["data_model"])
            result = search(resource["id"], limit=1)
            types = {f["id"]: f["type"] for f in result["fields"] if f["id"] != "_id"}
            assert types == expected_types(data_model), name
            assert result["total"] == validation.show(resource["id"])["rows"] > 0, name
            assert resource["datastore_active"] is True
            views = {v["view_type"] for v in call_action("resource_view_list", id=resource["id"])}
            assert "datatables_view" in views, name
            assert ("mel_map" in views) == (name in WITH_COORDINATES), name

        parks = loaded_demo["lille-parcs-et-jardins"]["resources"][0]
        record = search(parks["id"], limit=1)["records"][0]
        assert isinstance(record["SURFACE_M2"], (int, float)) and isinstance(record["ACCES_PMR"], bool)
        assert isinstance(record["LATITUDE"], float) and 50 < record["LATITUDE"] < 51
        budget = loaded_demo["villeneuve-d-ascq-compte-administratif"]["resources"][0]
        years = {r["BGT_ANNEE"] for r in search(budget["id"], limit=5)["records"]}
        assert years == {2023}
        # Sorted as numbers, not as text.
        amounts = [r["BGT_MTREAL"] for r in search(budget["id"], sort="BGT_MTREAL desc", limit=50)["records"]]
        assert amounts == sorted(amounts, reverse=True)

        # Their API in DCAT.
        dataset = loaded_demo["lille-parcs-et-jardins"]
        resource = dataset["resources"][0]
        graph = Graph().parse(data=app.get(f"/dataset/{dataset['name']}.ttl").body, format="turtle")
        services = list(graph.objects(None, DCAT.accessService))
        assert len(services) == 1
        service = services[0]
        assert (service, RDF.type, DCAT.DataService) in graph
        endpoint = graph.value(service, DCAT.endpointURL)
        assert str(endpoint).endswith(f"/api/action/datastore_search?resource_id={resource['id']}")
        assert graph.value(service, DCAT.endpointDescription) is not None
        assert (
            service,
            DCAT.servesDataset,
            URIRef(next(iter(graph.subjects(RDF.type, DCAT.Dataset)))),
        ) in graph
        # Both feeds stay valid DCAT-AP with the services in them, and the MQA score whole.
        catalogue_3 = get_graph(app, "/catalog.ttl")
        catalogue_2 = get_graph(app, f"/catalog.rdf?{DCAT_AP_2_QUERY}")
        for graph, shapes in (
            (catalogue_3, ["dcat-ap_3_shacl_shapes.ttl"]),
            (catalogue_2, ["dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap_2.1.1_shacl_shapes_recommended.ttl"]),
        ):
            services = set(graph.subjects(RDF.type, DCAT.DataService))
            assert len(services) == 10
            for shape in shapes:
                assert shacl_results_on(graph, shape, services) == []
        for name in loaded_demo:
            score = quality.dataset_quality(call_action("package_show", id=name))["score"]
            assert score == quality.MAX_POINTS == 405, name


@pytest.fixture
def sample(dataset, upload):
    """One demo sample, uploaded under its model and loaded by the job worker."""

    def make(data_model, filename):
        package = dataset(data_model=data_model, name=f"test-{data_model}")
        resource = upload(package, (demo.SAMPLES / filename).read_bytes(), filename)
        work()
        return package, call_action("resource_show", id=resource["id"])

    return make


@pytest.mark.usefixtures("clean_datastore", "clean_queues", "with_test_worker")
class TestExportsAndPages:
    def test_exports_of_a_table_with_coordinates(self, app, sample):
        dataset, resource = sample("schema-dae", "villeneuve-d-ascq-defibrillateurs.csv")
        base = f"/dataset/{dataset['name']}/resource/{resource['id']}/export"
        total = search(resource["id"], limit=0)["total"]

        plain = app.get(f"{base}/csv", status=200)
        assert plain.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(plain.body)))
        assert len(rows) == total and "lat_coor1" in rows[0]
        # The plain CSV is a file that follows the model again.
        data_model = datamodels.get(dataset["data_model"])
        assert tabular.check(plain.body.encode("utf-8"), data_model.schema()).status == "valid"

        french = app.get(f"{base}/csv-excel", status=200).data
        assert french.startswith(b"\xef\xbb\xbf")
        french_rows = list(csv.DictReader(io.StringIO(french.decode("utf-8-sig")), delimiter=";"))
        assert len(french_rows) == total
        assert french_rows[0]["lat_coor1"] == rows[0]["lat_coor1"].replace(".", ",")

        records = json.loads(app.get(f"{base}/json", status=200).body)
        assert len(records) == total and isinstance(records[0]["lat_coor1"], float)

        collection = json.loads(app.get(f"{base}/geojson", status=200).body)
        assert collection["type"] == "FeatureCollection" and len(collection["features"]) == total
        point = collection["features"][0]
        assert point["geometry"]["coordinates"] == [records[0]["long_coor1"], records[0]["lat_coor1"]]

        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(app.get(f"{base}/xlsx", status=200).data), read_only=True)
        sheet_rows = list(workbook.active.iter_rows(values_only=True))
        assert len(sheet_rows) == total + 1
        header = list(sheet_rows[0])
        assert isinstance(sheet_rows[1][header.index("lat_coor1")], float)
        assert isinstance(sheet_rows[1][header.index("date_instal")], datetime.datetime)

        # CKAN's own dump keeps working.
        dump = app.get(f"/datastore/dump/{resource['id']}", status=200).body
        assert len(list(csv.DictReader(io.StringIO(dump.lstrip("\ufeff"))))) == total

    def test_no_geojson_for_rows_without_coordinates(self, app, sample):
        dataset, resource = sample("mel-naissances", "armentieres-naissances-2024.csv")
        response = app.get(f"/dataset/{dataset['name']}/resource/{resource['id']}/export/geojson", status=404)
        assert "pas de coordonnées" in response.body
        app.get(f"/dataset/{dataset['name']}/resource/{resource['id']}/export/parquet", status=404)

    def test_the_resource_page_links_the_table_map_and_exports(self, app, sample):
        dataset, resource = sample("mel-parcs-jardins", "lille-parcs-et-jardins.csv")
        page = html.unescape(app.get(f"/dataset/{dataset['name']}/resource/{resource['id']}").body)
        assert 'data-api="loaded"' in page and "Dans l'API" in page
        views = {v["view_type"]: v["id"] for v in call_action("resource_view_list", id=resource["id"])}
        assert f"view_id={views['datatables_view']}" in page and f"view_id={views['mel_map']}" in page
        for fmt in ("csv", "csv-excel", "json", "geojson", "xlsx"):
            assert f"/export/{fmt}" in page
        map_page = app.get(
            f"/dataset/{dataset['name']}/resource/{resource['id']}/view/{views['mel_map']}"
        ).body
        assert 'data-module="mel-map"' in map_page and "/export/geojson" in map_page


def test_spreadsheet_exports_never_carry_a_formula():
    """What Excel and LibreOffice would run (OWASP's CSV injection) stays text in the exports
    meant for them; the plain CSV keeps the model's values as they are."""
    from decimal import Decimal

    from openpyxl import load_workbook

    from ckanext.mel.loader import exports

    columns = [("NOM", "text"), ("MONTANT", "numeric")]
    rows = [('=HYPERLINK("http://example.org")', Decimal("2.5")), ("@SUM(A1)", None)]

    workbook = load_workbook(exports._xlsx(columns, iter(rows)))
    cells = list(workbook.active.iter_rows(min_row=2, values_only=False))
    assert [(c[0].value, c[0].data_type) for c in cells] == [
        ('=HYPERLINK("http://example.org")', "s"),
        ("@SUM(A1)", "s"),
    ]
    french = "".join(exports.csv_lines(columns, iter(rows), ";", french=True))
    french_rows = list(csv.reader(io.StringIO(french.lstrip("\ufeff")), delimiter=";"))
    assert french_rows[1:] == [['\'=HYPERLINK("http://example.org")', "2,5"], ["'@SUM(A1)", ""]]
    plain = "".join(exports.csv_lines(columns, iter(rows), ","))
    assert list(csv.reader(io.StringIO(plain)))[1] == ['=HYPERLINK("http://example.org")', "2.5"]

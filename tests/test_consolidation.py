"""The metropolitan datasets (ckanext/mel/consolidation/): one per data model, the union of
the communes' valid public files, kept live by the job worker, with each row's provenance,
a consolidated CSV that follows the model, dct:source in DCAT and a page for people."""

import csv
import datetime
import html
import io

import pytest
from ckan.cli.cli import ckan
from ckan.tests.helpers import call_action
from rdflib import URIRef
from rdflib.namespace import DCTERMS, FOAF

from ckanext.mel import scheduler, storage, validation
from ckanext.mel.consolidation import Consolidation
from ckanext.mel.consolidation import jobs as consolidation_jobs
from ckanext.mel.loader.state import DatastoreLoad
from tests.dcat_data import dataset_graph, dcat_ap_2_graph, load_demo
from tests.helpers import login
from tests.test_dcat_shacl import assert_dcat_ap_2, assert_dcat_ap_3
from tests.test_loader import HEADER, _file, clean_datastore, naissances, work  # noqa: F401

MODEL = "mel-naissances"
LILLE_ROWS = [
    "59350,Lille,2024-01-01,2024-01-31,812,400,412",
    "59350,Lille,2024-02-01,2024-02-29,760,371,389",
    "59350,Lille,2024-03-01,2024-03-31,798,390,408",
]

pytestmark = pytest.mark.usefixtures("clean_datastore", "clean_queues", "with_test_worker", "app")


@pytest.fixture
def metropolis(sysadmin, commune_factory, mel_staff):
    """The MEL with its staff, and three obliged communes (over 3,500 inhabitants): Armentières and
    Lille publish births, Roubaix does not."""
    mel = call_action("organization_show", id="mel")
    armentieres = commune_factory(name="armentieres", title="Armentières", insee_code="59017")
    lille = commune_factory(name="lille", title="Lille", insee_code="59350", population=236000)
    commune_factory(name="roubaix", title="Roubaix", insee_code="59512", population=98000)

    def dataset(commune, name, private=False):
        return call_action(
            "package_create",
            context={"user": sysadmin["name"]},
            name=name,
            title=f"Naissances {name}",
            notes="Données de test.",
            owner_org=commune["id"],
            data_model=MODEL,
            private=private,
        )

    return {"mel": mel, "armentieres": armentieres, "lille": lille, "dataset": dataset}


def table_rows():
    state = Consolidation.get(MODEL)
    result = call_action("datastore_search", resource_id=state.table_resource_id, limit=100, sort="_id")
    return result["records"]


def by_commune(rows):
    counts = {}
    for row in rows:
        counts[row["SOURCE_COMMUNE_INSEE"]] = counts.get(row["SOURCE_COMMUNE_INSEE"], 0) + 1
    return counts


def test_a_second_communes_file_arrives_with_its_provenance_and_goes_when_it_is_withdrawn(
    metropolis, upload, sysadmin
):
    armentieres = metropolis["dataset"](metropolis["armentieres"], "armentieres-naissances")
    upload(armentieres, naissances())
    work()

    state = Consolidation.get(MODEL)
    metropolitan = call_action("package_show", id=state.package_id)
    assert metropolitan["owner_org"] == metropolis["mel"]["id"]
    assert metropolitan["title"] == "Naissances par période — Métropole Européenne de Lille"
    assert metropolitan["data_model"] == MODEL
    assert "- Armentières (59017), depuis le" in metropolitan["notes"]
    assert by_commune(table_rows()) == {"59017": 2}

    # A second commune's valid file arrives, with its provenance.
    lille = metropolis["dataset"](metropolis["lille"], "lille-naissances")
    lille_file = upload(lille, naissances(LILLE_ROWS))
    # A private dataset's valid file never contributes.
    private = metropolis["dataset"](metropolis["lille"], "lille-naissances-brouillon", private=True)
    upload(private, naissances(["59350,Lille,2023-01-01,2023-01-31,1,1,0"]))
    work()

    rows = table_rows()
    assert by_commune(rows) == {"59017": 2, "59350": 3}
    lille_row = next(r for r in rows if r["SOURCE_COMMUNE_INSEE"] == "59350")
    assert lille_row["SOURCE_COMMUNE_NOM"] == "Lille"
    assert lille_row["SOURCE_JEU_DE_DONNEES"] == "lille-naissances"
    assert lille_row["SOURCE_RESSOURCE"] == lille_file["id"]
    assert lille_row["SOURCE_DATE_FICHIER"].startswith(lille_file["last_modified"][:16])
    assert (lille_row["PERIODE_DEBUT"], lille_row["NAISSANCES"]) == ("2024-01-01", 812)  # typed

    # The consolidated CSV: the model's fields only, in order; the portal checks it valid.
    state = Consolidation.get(MODEL)
    content = b"".join(storage.chunks(state.file_resource_id)).decode("utf-8")
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0] == HEADER.split(",")
    assert len(lines) == 1 + 5
    assert validation.show(state.file_resource_id)["status"] == validation.VALID
    assert "lille-naissances-brouillon" not in {s["package_name"] for s in state.sources}

    # Made private: its rows go; public again: they are back.
    call_action("package_patch", context={"user": sysadmin["name"]}, id=lille["id"], private=True)
    work()
    assert by_commune(table_rows()) == {"59017": 2}
    call_action("package_patch", context={"user": sysadmin["name"]}, id=lille["id"], private=False)
    work()
    assert by_commune(table_rows()) == {"59017": 2, "59350": 3}

    # Its file turns invalid: its rows go, and the file is listed as left out.
    call_action(
        "resource_patch",
        context={"user": sysadmin["name"]},
        id=lille_file["id"],
        upload=_file(naissances(["59350,Lille,31/01/2024,2024-01-31,31,15,16"])),
    )
    work()
    assert by_commune(table_rows()) == {"59017": 2}
    assert [s["resource_id"] for s in Consolidation.get(MODEL).invalid or []] == [lille_file["id"]]

    # Valid again, then the dataset deleted: its rows go for good.
    call_action(
        "resource_patch",
        context={"user": sysadmin["name"]},
        id=lille_file["id"],
        upload=_file(naissances(LILLE_ROWS)),
    )
    work()
    assert by_commune(table_rows()) == {"59017": 2, "59350": 3}
    call_action("package_delete", context={"user": sysadmin["name"]}, id=lille["id"])
    work()
    assert by_commune(table_rows()) == {"59017": 2}
    state = Consolidation.get(MODEL)
    assert (state.rows, state.invalid or []) == (2, [])
    assert "- Lille (59350)" not in call_action("package_show", id=state.package_id)["notes"]


def test_the_most_recent_row_wins_and_the_dataset_is_described_in_dcat_and_on_the_page(
    app, metropolis, upload, mel_staff, cli
):
    first = metropolis["dataset"](metropolis["armentieres"], "armentieres-naissances")
    upload(first, naissances())
    corrected = metropolis["dataset"](metropolis["armentieres"], "armentieres-naissances-corrigees")
    # The same month (the model's primary key: COLL_INSEE, PERIODE_DEBUT) corrected, and a new one.
    upload(
        corrected,
        naissances(
            [
                "59017,Armentières,2024-02-01,2024-02-29,28,15,13",
                "59017,Armentières,2024-03-01,2024-03-31,30,14,16",
            ]
        ),
    )
    lille = metropolis["dataset"](metropolis["lille"], "lille-naissances")
    upload(lille, naissances(LILLE_ROWS[:1]))
    work()

    rows = {(r["COLL_INSEE"], r["PERIODE_DEBUT"]): r for r in table_rows()}
    assert len(rows) == 4
    assert rows[("59017", "2024-02-01")]["NAISSANCES"] == 28
    assert rows[("59017", "2024-02-01")]["SOURCE_JEU_DE_DONNEES"] == "armentieres-naissances-corrigees"
    assert rows[("59017", "2024-01-01")]["SOURCE_JEU_DE_DONNEES"] == "armentieres-naissances"
    state = Consolidation.get(MODEL)
    metropolitan = call_action("package_show", id=state.package_id)

    # DCAT: each source dataset as dct:source, the MEL as publisher; DCAT-AP 3 and 2.1.1 hold
    # (the graph /dataset/<name>.ttl serves).
    graph = dataset_graph(metropolitan)
    dataset_ref = URIRef(f"http://test.ckan.net/dataset/{metropolitan['id']}")
    sources = {str(s) for s in graph.objects(dataset_ref, DCTERMS.source)}
    assert sources == {f"http://test.ckan.net/dataset/{d['id']}" for d in (first, corrected, lille)}
    publisher = next(graph.objects(dataset_ref, DCTERMS.publisher))
    assert str(next(graph.objects(publisher, FOAF.name))) == "Métropole Européenne de Lille"
    assert_dcat_ap_3(graph)
    assert_dcat_ap_2(dcat_ap_2_graph(metropolitan))

    # The page, in French: the communes, their rows, the link; staff see the obliged communes missing.
    page = html.unescape(app.get("/donnees-metropolitaines").body)
    assert "<h1>Données métropolitaines</h1>" in page
    assert f'href="/dataset/{metropolitan["name"]}"' in page
    assert '<td class="text-end" data-rows="3">3</td>' in page  # Armentières' rows kept
    assert "Communes contributrices" in page
    assert "Roubaix" not in page
    staff_page = html.unescape(login(app, mel_staff).get("/donnees-metropolitaines").body)
    assert "Communes soumises à l'obligation qui ne publient pas dans ce modèle (1)" in staff_page
    assert "Roubaix" in staff_page

    # The CLI rebuilds it from scratch, with its progress; an unknown model is refused.
    result = cli.invoke(ckan, ["mel", "consolidate", MODEL])
    assert result.exit_code == 0, result.output
    assert f"{MODEL}: 4 rows from 3 file(s) of 2 commune(s)" in result.output
    result = cli.invoke(ckan, ["mel", "consolidate", "no-such-model"])
    assert result.exit_code != 0 and "unknown data model 'no-such-model'" in result.output

    # The nightly safety net is scheduled, and the function the workers import exists.
    (nightly,) = [job for job in scheduler.JOBS if job.name == "consolidation"]
    assert nightly.at == datetime.time(3, 0)
    assert nightly.function == f"{consolidation_jobs.nightly_job.__module__}.nightly_job"


def test_the_demo_ends_with_one_valid_metropolitan_dataset_per_model_its_communes_publish_in():
    published = load_demo()
    work()

    states = {state.data_model: state for state in Consolidation.all() if state.package_id}
    assert set(states) == {dataset["data_model"] for dataset in published}
    for dataset in published:
        state = states[dataset["data_model"]]
        metropolitan = call_action("package_show", id=state.package_id)
        assert metropolitan["organization"]["name"] == "mel", dataset["name"]
        assert [s["package_name"] for s in state.sources] == [dataset["name"]]
        assert state.rows == DatastoreLoad.get(dataset["resources"][0]["id"]).rows > 0, dataset["name"]
        # Every model's consolidated CSV passes the portal's own check against the model.
        assert validation.show(state.file_resource_id)["status"] == validation.VALID, dataset["name"]

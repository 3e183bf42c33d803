"""Resource validation: CSV files as communes write them, checked against the
dataset's data model at once or in a background job, with a report in French."""

import functools
import html
import http.server
import json
import threading
import time

import ckan.plugins.toolkit as tk
import pytest
from ckan.lib import jobs
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel import tabular, validation

HEADER = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS"
ROWS = [
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16",
    "59017,Armentières,2024-02-01,2024-02-29,27,14,13",
]


def naissances(delimiter=",", rows=ROWS):
    return "\n".join([HEADER, *rows]).replace(",", delimiter) + "\n"


@pytest.fixture
def armentieres(commune_factory):
    square = {
        "type": "Polygon",
        "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.71], [2.85, 50.67]]],
    }
    return commune_factory(
        name="armentieres", title="Armentières", insee_code="59017", boundary=json.dumps(square)
    )


@pytest.fixture
def dataset(model_dataset, armentieres):
    return functools.partial(model_dataset, armentieres)


def report_of(resource):
    return call_action("mel_validation_show", id=resource["id"])


def report_over_http(app, resource):
    """Through the API, as the portal's pages and reusers get it: in French."""
    response = app.get("/api/3/action/mel_validation_show", query_string={"id": resource["id"]})
    return response.json["result"]


class TestFrenchFiles:
    """tabular.check on its own: encodings, separators, byte order marks, bad files."""

    @pytest.fixture
    def schema(self):
        from ckanext.mel import datamodels

        return datamodels.get("mel-naissances").schema()

    @pytest.mark.parametrize(
        "encoding, delimiter, bom",
        [
            (encoding, delimiter, bom)
            for encoding in ("utf-8", "windows-1252", "iso-8859-1")
            for delimiter in (",", ";")
            for bom in ((False, True) if encoding == "utf-8" else (False,))  # only UTF-8 has a BOM
        ],
    )
    def test_every_encoding_separator_and_bom_is_read(self, schema, encoding, delimiter, bom):
        content = naissances(delimiter).replace("\n", "\r\n").encode(encoding)
        if bom:
            content = b"\xef\xbb\xbf" + content

        report = tabular.check(content, schema)

        assert report.status == "valid", report.errors
        assert report.delimiter == delimiter
        assert report.bom is bom
        assert report.rows == 2
        assert report.encoding == ("utf-8" if encoding == "utf-8" else "windows-1252")

    def test_a_windows_1252_name_is_read_right_not_garbled(self, schema):
        content = naissances(";", ["59017,Armentières,2024-01-01,2024-01-31,x,1,1"]).encode("cp1252")
        report = tabular.check(content, schema)
        assert report.errors[0]["value"] == "x"
        content = naissances(";", ["59017,Armentières,2024-01-01,2024-01-31,1,1,1"]).encode("cp1252")
        assert tabular.check(content, schema).status == "valid"

    def test_an_empty_file(self, schema):
        for content in (b"", b"\xef\xbb\xbf", b" \r\n\r\n"):
            report = tabular.check(content, schema)
            assert (report.status, report.errors[0]["code"]) == ("error", "empty")

    @pytest.mark.parametrize(
        "content, kind",
        [
            (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "png"),
            (b"PK\x03\x04" + bytes(range(256)), "zip"),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf"),
            (b"<!DOCTYPE html>\n<html><body>Connexion</body></html>", "html"),
            (b"COLL_INSEE\x00\x01\x02" + bytes(range(256)), "binary"),
        ],
    )
    def test_a_binary_file_is_not_read_as_csv(self, schema, content, kind):
        report = tabular.check(content, schema)
        assert report.status == "error"
        assert report.errors == [{"code": "not-text", "kind": kind}]

    def test_a_file_cut_in_the_middle_of_a_line(self, schema):
        content = naissances().rstrip("\n")[:-12].encode()
        report = tabular.check(content, schema)
        assert report.status == "invalid"
        codes = {e["code"] for e in report.errors}
        assert "truncated" in codes and "missing-cell" in codes

    def test_a_file_cut_in_the_middle_of_a_character(self, schema):
        content = naissances().encode()
        cut = content.rindex("è".encode()) + 1
        report = tabular.check(content[:cut], schema)
        assert (report.status, report.errors[0]["code"]) == ("error", "truncated")

    def test_a_file_that_mixes_utf8_and_windows_1252(self, schema):
        content = (HEADER + "\n" + ROWS[0] + "\n").encode() + ROWS[1].encode("cp1252") + b"\n"
        report = tabular.check(content, schema)
        assert report.status == "error"
        assert report.errors == [{"code": "encoding", "line": 3}]

    def test_a_large_file_is_checked_and_its_errors_are_bounded(self, schema):
        rows = [f"59017,Armentières,2024-01-01,2024-01-31,{'x' if i % 2 else 3},1,2" for i in range(50_000)]
        report = tabular.check(naissances(rows=rows).encode(), schema)
        assert report.status == "invalid"
        assert len(report.errors) == tabular.MAX_ERRORS
        assert report.as_dict()["errors_truncated"] is True
        assert report.seconds < 60


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestUploads:
    def test_a_valid_upload_is_checked_at_once_and_reported(self, dataset, upload):
        resource = upload(dataset(), naissances(";"))

        report = report_of(resource)
        assert report["status"] == "valid"
        assert report["rows"] == 2
        assert report["delimiter"] == ";"
        assert report["data_model"] == "mel-naissances"
        assert report["errors"] == []
        # No check queued (the DataStore load of a valid file may be).
        assert [j for j in jobs.get_queue().jobs if j.func_name.startswith("ckanext.mel.validation")] == []

    def test_an_invalid_upload_gets_its_errors_with_line_column_and_a_french_message(
        self, app, dataset, upload
    ):
        rows = ["5901,Armentières,2024-01-01,31/01/2024,-2,1,1"]
        report = report_over_http(app, upload(dataset(), naissances(rows=rows)))

        assert report["status"] == "invalid"
        by_column = {e["column"]: e for e in report["errors"]}
        assert set(by_column) == {"COLL_INSEE", "PERIODE_FIN", "NAISSANCES"}
        assert by_column["COLL_INSEE"]["line"] == 2
        assert by_column["COLL_INSEE"]["message"] == (
            "Ligne 2, colonne COLL_INSEE : « 5901 » n'a pas la forme attendue par le modèle. Exemple : 59350."
        )
        assert by_column["PERIODE_FIN"]["message"] == (
            "Ligne 2, colonne PERIODE_FIN : « 31/01/2024 » n'est pas une date "
            "au format AAAA-MM-JJ. Exemple : 2024-01-31."
        )
        assert by_column["NAISSANCES"]["message"] == (
            "Ligne 2, colonne NAISSANCES : « -2 » est inférieur au minimum, 0."
        )

    def test_a_missing_column_is_reported(self, app, dataset, upload):
        # As Validata: one error for the missing required column, a warning for each optional one.
        content = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN\n59017,Armentières,2024-01-01,2024-01-31\n"
        report = report_over_http(app, upload(dataset(), content))
        assert report["status"] == "invalid"
        assert [(e["code"], e["column"]) for e in report["errors"]] == [("missing-label", "NAISSANCES")]
        assert report["errors"][0]["message"] == "La colonne NAISSANCES est absente."
        assert [(w["code"], w["column"]) for w in report["warnings"]] == [
            ("missing-optional-column", "NAISSANCES_FILLES"),
            ("missing-optional-column", "NAISSANCES_GARCONS"),
        ]

    def test_the_report_is_shown_in_french_on_the_resource_page(self, app, dataset, upload):
        created = dataset()
        resource = upload(created, naissances(rows=["59017,Armentières,2024-01-01,2024-01-31,beaucoup,1,1"]))

        page = html.unescape(app.get(f"/dataset/{created['name']}/resource/{resource['id']}").body)
        assert "Vérification par rapport au modèle de données" in page
        assert "Non valide" in page
        assert "« beaucoup » n'est pas un nombre entier." in page
        assert "Naissances par période (MEL)" in page

    def test_a_file_under_no_model_is_not_checked(self, dataset, upload):
        resource = upload(dataset(data_model=""), naissances())
        with pytest.raises(tk.ObjectNotFound, match="not checked|pas vérifié"):
            report_of(resource)

    def test_a_pdf_is_not_checked(self, dataset, upload):
        resource = upload(dataset(), b"%PDF-1.7\n", filename="notice.pdf")
        assert validation.show(resource["id"]) is None

    @pytest.mark.ckan_config("ckanext.mel.validation.max_size", 1000)
    def test_a_file_over_the_limit_is_reported_not_read(self, dataset, upload):
        rows = ["59017,Armentières,2024-01-01,2024-01-31,31,15,16"] * 100
        report = report_of(upload(dataset(), naissances(rows=rows)))
        assert report["status"] == "error"
        assert report["errors"][0]["code"] == "too-large"

    def test_changing_the_model_checks_the_files_again(self, dataset, upload, sysadmin):
        created = dataset()
        resource = upload(created, naissances())
        assert report_of(resource)["status"] == "valid"

        call_action(
            "package_patch",
            context={"user": sysadmin["name"]},
            id=created["id"],
            data_model="mel-ecoles",
        )
        assert report_of(resource)["status"] == "pending"
        jobs.Worker().work(burst=True)

        report = report_of(resource)
        assert report["status"] == "invalid"
        assert report["data_model"] == "mel-ecoles"

    def test_re_running_a_check_is_possible_for_editors(self, dataset, upload, sysadmin):
        resource = upload(dataset(), naissances())
        first = report_of(resource)
        time.sleep(0.01)
        again = call_action("mel_validation_run", context={"user": sysadmin["name"]}, id=resource["id"])
        assert again["status"] == "valid"
        assert again["finished"] > first["finished"]


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
# The links are served on 127.0.0.1, which the portal refuses to fetch unless allowed (links.py).
@pytest.mark.ckan_config("ckanext.mel.validation.allowed_networks", "127.0.0.1/32")
class TestBackgroundChecks:
    @pytest.mark.ckan_config("ckanext.mel.validation.sync_max_size", 10)
    def test_a_large_upload_is_checked_by_the_job_queue(self, dataset, upload):
        resource = upload(dataset(), naissances())
        assert report_of(resource)["status"] == "pending"
        assert jobs.get_queue().count == 1

        jobs.Worker().work(burst=True)

        assert report_of(resource)["status"] == "valid"
        assert jobs.get_queue().count == 0

    def test_an_unreachable_link_gives_a_could_not_fetch_report(self, app, dataset, sysadmin):
        created = dataset()
        resource = call_action(
            "resource_create",
            context={"user": sysadmin["name"]},
            package_id=created["id"],
            url="http://127.0.0.1:9/naissances.csv",
        )
        jobs.Worker().work(burst=True)

        report = report_over_http(app, resource)
        assert report["status"] == "error"
        assert report["errors"][0]["code"] == "fetch-error"
        assert report["errors"][0]["message"].startswith("Le fichier n'a pas pu être récupéré")

    def test_a_linked_file_is_fetched_and_checked(self, dataset, sysadmin, served):
        url = served("/naissances.csv", naissances(";").encode("cp1252"))
        created = dataset()
        resource = call_action(
            "resource_create", context={"user": sysadmin["name"]}, package_id=created["id"], url=url
        )
        jobs.Worker().work(burst=True)

        report = report_of(resource)
        assert (report["status"], report["encoding"], report["source"]) == (
            "valid",
            "windows-1252",
            "link",
        )
        assert report["size"] == len(naissances(";").encode("cp1252"))

    def test_a_link_answering_404_gives_a_could_not_fetch_report(self, dataset, sysadmin, served):
        served("/autre.csv", b"")
        created = dataset()
        resource = call_action(
            "resource_create",
            context={"user": sysadmin["name"]},
            package_id=created["id"],
            url=served.base + "/absent.csv",
        )
        jobs.Worker().work(burst=True)
        report = report_of(resource)
        assert report["errors"][0] == {
            **report["errors"][0],
            "code": "fetch-error",
            "reason": "HTTP 404",
        }


@pytest.fixture
def served():
    """Files served over HTTP by a server of the test's own, on a free port."""
    files = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(path, body):
        files[path] = body
        return serve.base + path

    serve.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield serve
    server.shutdown()


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestBlocking:
    @pytest.mark.ckan_config("ckanext.mel.validation.block_invalid", True)
    def test_invalid_data_unpublishes_the_dataset_until_it_is_fixed(self, dataset, upload, sysadmin):
        created = dataset()
        resource = upload(created, naissances(rows=["59017,Armentières,2024-01-01,2024-01-31,x,1,1"]))
        assert call_action("package_show", id=created["id"])["private"] is True

        call_action(
            "resource_patch",
            context={"user": sysadmin["name"]},
            id=resource["id"],
            upload=_file(naissances()),
            url="naissances.csv",
        )
        assert report_of(resource)["status"] == "valid"
        assert call_action("package_show", id=created["id"])["private"] is False

    def test_by_default_invalid_data_is_marked_not_unpublished(self, dataset, upload):
        created = dataset()
        upload(created, naissances(rows=["59017,Armentières,2024-01-01,2024-01-31,x,1,1"]))
        assert call_action("package_show", id=created["id"])["private"] is False


def _file(content):
    import io

    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(content.encode()), "naissances.csv")


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
def test_an_agent_uploads_a_french_csv_through_the_form_and_reads_the_report(
    app, armentieres, dataset, ckan_config, monkeypatch, tmp_path
):
    """The whole path: the resource form, a Windows-1252 file with semicolons, the page."""
    import io
    import re

    monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
    agent = factories.UserWithToken()
    call_action("organization_member_create", id=armentieres["id"], username=agent["name"], role="editor")
    call_action("mel_enrolment_create", organization=armentieres["id"])
    created = dataset()
    headers = {"Authorization": agent["token"]}
    form = app.get(f"/dataset/{created['name']}/resource/new", headers=headers).body
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
    content = naissances(";", ["59017,Armentières,2024-01-01,2024-01-31,trente,1,1"]).encode("cp1252")

    response = app.post(
        f"/dataset/{created['name']}/resource/new",
        headers=headers,
        data={
            "_csrf_token": token,
            "id": "",
            "upload": (io.BytesIO(content), "naissances.csv"),
            "url": "naissances.csv",
            "name": "Naissances 2024",
            "save": "go-metadata",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200

    resource = call_action("package_show", id=created["id"])["resources"][0]
    page = html.unescape(app.get(f"/dataset/{created['name']}/resource/{resource['id']}").body)
    assert "Non valide" in page
    assert "« trente » n'est pas un nombre entier." in page
    assert "Lu en WINDOWS-1252, colonnes séparées par « ; »." in page

"""Hostile and malformed files: each gets a clear report in French, never "internal", and no check
takes the portal's memory or time (tabular.py's limits, check_process.py, validation.py's queue).

The corpus is generated here. Memory and time are measured in bench/hostile_uploads.py; the tests
check the behaviour at the limits (what is refused, handed over, killed and reported)."""

import dataclasses
import datetime
import gzip
import html
import http.server
import io
import json
import os
import re
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import ckan.plugins.toolkit as tk
import pytest
from ckan.lib import jobs
from ckan.tests.helpers import call_action
from werkzeug.datastructures import FileStorage

from ckanext.mel import check_process, datamodels, links, tabular

HEADER = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS"
ROW = "59017,Armentières,{date},{date},31,15,16"


def rows(count, start=datetime.date(1900, 1, 1)):
    return [ROW.format(date=start + datetime.timedelta(days=i)) for i in range(count)]


def csv_text(lines, end="\n"):
    return end.join([HEADER, *lines]) + end


def corpus():
    """name: (bytes, the report's status, the first error's code)."""
    valid = csv_text(rows(3))
    return {
        "empty": (b"", "error", "empty"),
        "blank lines only": (b"\r\n\n \r\n", "error", "empty"),
        "binary": (bytes(range(256)) * 40, "error", "not-text"),
        "NUL bytes after the first page": (
            (csv_text(rows(300)) + "59017,Armen\x00tières,2024-01-01,2024-01-31,1,1,1\n").encode(),
            "error",
            "nul-byte",
        ),
        "HTML page": (
            b"\n<!DOCTYPE html>\n<html><body><form>Connexion</form></body></html>",
            "error",
            "not-text",
        ),
        "gzip named .csv": (gzip.compress(valid.encode()), "error", "not-text"),
        "unterminated quote": (
            csv_text(['59017,"Armentières,2024-01-01,2024-01-31,31,15,16', *rows(5)]).encode(),
            "error",
            "unterminated-quote",
        ),
        "mixed separators": (
            csv_text([rows(1)[0].replace(",", ";"), *rows(2, datetime.date(2000, 1, 1))]).encode(),
            "invalid",
            "constraint-error",
        ),
        "one huge line": (
            (HEADER + "\n" + "59017," * 400_000 + "\n").encode(),
            "error",
            "line-too-long",
        ),
        "one huge cell": (
            (HEADER + '\n59017,"' + "Armentières\n" * 20_000 + '",2024-01-01,2024-01-31,1,1,1\n').encode(),
            "error",
            "cell-too-long",
        ),
        "tens of thousands of columns": (
            (",".join(f"COL{i}" for i in range(50_000)) + "\n" + ",".join("1" * 50_000) + "\n").encode(),
            "error",
            "too-many-columns",
        ),
        "a row of thousands of cells": (
            csv_text([*rows(2), ",".join("1" * 5_000)]).encode(),
            "error",
            "too-many-columns",
        ),
        "UTF-16 with a NUL character": (
            csv_text(["59017,A\x00,2024-01-01,2024-01-31,1,1,1"]).encode("utf-16"),
            "error",
            "nul-byte",
        ),
    }


# Each case and the French words of its report (through mel_validation_show, in the portal's language).
FRENCH = {
    "empty": "Le fichier est vide.",
    "not-text": "Ce n'est pas un fichier CSV",
    "nul-byte": "caractère NUL",
    "unterminated-quote": "guillemet",
    "constraint-error": "n'a pas la forme attendue",
    "line-too-long": "dépasse 1 048 576 octets",
    "cell-too-long": "dépasse 102 400 caractères",
    "too-many-columns": "Le fichier a 50 000 colonnes ; le modèle en attend 7.",
}


@pytest.fixture
def schema():
    return datamodels.get("mel-naissances").schema()


class TestCorpus:
    def test_each_malformed_file_gets_its_own_report(self, schema):
        for name, (content, status, code) in corpus().items():
            report = tabular.check(content, schema)
            assert (report.status, report.errors[0]["code"]) == (status, code), (name, report.errors[:3])

    def test_columns_are_counted_and_compared_with_the_model(self, schema):
        content, _, _ = corpus()["tens of thousands of columns"]
        error = tabular.check(content, schema).errors[0]
        assert error == {"code": "too-many-columns", "columns": 50_000, "expected": 7, "limit": 500}

    def test_where_the_problem_is(self, schema):
        assert tabular.check(corpus()["unterminated quote"][0], schema).errors[0]["line"] == 2
        assert tabular.check(corpus()["one huge line"][0], schema).errors[0]["line"] == 2
        assert tabular.check(corpus()["NUL bytes after the first page"][0], schema).errors[0]["line"] == 302

    def test_cr_only_crlf_and_lf_line_endings_are_read(self, schema):
        for end in ("\r", "\r\n", "\n"):
            report = tabular.check(csv_text(rows(3), end).encode(), schema)
            assert (report.status, report.rows) == ("valid", 3), repr(end)

    def test_mixed_line_endings_in_one_file_are_read(self, schema):
        lines = rows(4)
        content = (
            HEADER + "\r\n" + lines[0] + "\r" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3] + "\r"
        ).encode()
        report = tabular.check(content, schema)
        assert (report.status, report.rows) == ("valid", 4)

    def test_cr_only_file_gets_its_bounding_box(self):
        """The bounding box used to fail on old Mac exports (`_csv.Error`, reported "internal")."""
        schema = {
            "fields": [
                {"name": "nom", "type": "string"},
                {"name": "lat", "type": "number"},
                {"name": "lon", "type": "number"},
            ]
        }
        content = "nom;lat;lon\rMairie;50.68;2.88\rÉcole;50.70;2.90\r".encode("cp1252")
        report = tabular.check(content, schema, ("lat", "lon"))
        assert report.status == "valid"
        assert (report.bbox, report.points) == ([2.88, 50.68, 2.9, 50.7], 2)

    def test_200000_rows_are_handed_over_from_a_check_in_the_request(self, schema):
        content = csv_text(rows(200_000)).encode()
        assert tabular.check(content, schema, limits=tabular.Limits(max_rows=20_000)).status == "deferred"

    def test_a_legitimate_multiline_cell_is_not_a_huge_cell(self, schema):
        content = csv_text(['59017,"Armentières\nNord",2024-01-01,2024-01-31,31,15,16']).encode()
        assert tabular.check(content, schema).status == "valid"


def task_for(path, max_size=10**6, **limits):
    return check_process.Task(
        schema=datamodels.get("mel-naissances").schema(),
        coordinates=None,
        limits=tabular.Limits(**limits),
        max_size=max_size,
        path=str(path),
    )


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(csv_text(rows(5)).encode("cp1252"))
    return path


@pytest.fixture
def wide_file(tmp_path):
    """One header and one row of 8,000 columns: a few seconds of frictionless."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"C{i}" for i in range(8_000)) + "\n" + ",".join("1" * 8_000) + "\n")
    return path


# The processes as the system sees them (/proc), not as check_process keeps them.


def children(parent, with_arg=None):
    """The living (not zombie) children of `parent`, those whose command line has `with_arg` if given."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            args = (entry / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):  # not a process, or one that just ended
            continue
        if int(ppid) == parent and state != "Z" and (with_arg is None or with_arg in args):
            found.append(int(entry.name))
    return found


def the_zygote():
    (pid,) = children(os.getpid(), "--zygote")
    return pid


def a_spare(zygote, seconds=10):
    """The zygote's one child between checks, once it has forked it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        found = children(zygote)
        if found:
            (pid,) = found
            return pid
        time.sleep(0.01)
    raise AssertionError(f"the zygote {zygote} has no spare child")


def bytes_read(pid):
    """What a zygote has read: its requests, and its children's answers."""
    return int(re.search(r"rchar: (\d+)", Path(f"/proc/{pid}/io").read_text())[1])


def gone(pid, seconds=10):
    """Whether `pid` ends (dead or a zombie) within `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def zygote(small_file):
    """This test process's zygote, started by a first check if it has none yet."""
    assert check_process.run(task_for(small_file), timeout=60, memory=1024**3).report.status == "valid"
    return the_zygote()


@pytest.fixture(params=["zygote", "new process"])
def check(request, zygote):
    """check_process.run through the zygote, or in a new process (the zygote busy: its lock held);
    either way, asserts that the zygote did or did not answer."""

    def check(task, timeout, memory):
        before = bytes_read(zygote)
        if request.param == "zygote":
            outcome = check_process.run(task, timeout, memory)
            assert bytes_read(zygote) > before
        else:
            with check_process._lock:
                outcome = check_process.run(task, timeout, memory)
            assert bytes_read(zygote) == before
        return outcome

    return check


@pytest.fixture
def held_link():
    """A link whose server answers once released: a check that lasts as long as a test wants."""
    asked, release = threading.Event(), threading.Event()
    body = csv_text(rows(3)).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.set()
            release.wait(60)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    task = dataclasses.replace(
        task_for(""),
        path=None,
        url=f"http://127.0.0.1:{server.server_address[1]}/held.csv",
        fetch=links.Policy(max_bytes=10**6, allowed_networks=links.parse_networks(["127.0.0.1/32"])),
    )
    yield SimpleNamespace(task=task, asked=asked, release=release)
    release.set()
    server.shutdown()


def in_thread(function, *args, **kwargs):
    results = []
    thread = threading.Thread(target=lambda: results.append(function(*args, **kwargs)))
    thread.start()
    return thread, results


def comparable(outcome):
    return dataclasses.replace(outcome.report, seconds=0), outcome.source


class TestCheckProcess:
    """The check's own process: killed at its time limit, stopped at its memory limit, forked by the
    worker's zygote or, when the zygote is busy or broken, started anew."""

    def test_a_check_that_needs_too_much_memory_is_stopped_and_reported(self, check, small_file, tmp_path):
        # 20 MB read, decoded and parsed need about 180 MiB; a small file about 90 MiB (both with a
        # max_size of 30 MB, which reading reserves whole).
        path = tmp_path / "big-cells.csv"
        path.write_text(csv_text([f"59017,{'A' * 100_000},2024-01-01,2024-01-31,1,1,1"] * 200))
        limit = 140 * 1024 * 1024
        assert check(task_for(small_file, max_size=3 * 10**7), 60, limit).report.status == "valid"
        outcome = check(task_for(path, max_size=3 * 10**7), 60, limit)
        assert outcome.report.status == "error"
        assert outcome.report.errors == [{"code": "too-much-memory", "limit": limit}]

    def test_a_check_past_its_time_is_killed_and_reported_as_timeout(self, check, zygote, wide_file):
        outcome = check(task_for(wide_file, max_size=10**8, max_columns=10_000), 1, 2 * 1024**3)
        assert outcome.report.errors == [{"code": "timeout", "seconds": 1}]
        # Its child (if it was the zygote's) killed and reaped: none left but the next spare.
        assert len(children(zygote)) <= 1

    def test_a_valid_file_is_checked_in_its_process(self, check, small_file):
        outcome = check(task_for(small_file), 60, 1024**3)
        assert (outcome.report.status, outcome.report.rows, outcome.report.encoding) == (
            "valid",
            5,
            "windows-1252",
        )
        assert outcome.source == {"source": "upload", "size": small_file.stat().st_size}

    def test_checks_in_a_row_are_forked_by_one_zygote_and_report_as_a_new_process(self, zygote, small_file):
        task = task_for(small_file)
        through_zygote = [check_process.run(task, 60, 1024**3) for _ in range(2)]
        assert the_zygote() == zygote
        with check_process._lock:
            in_new_process = check_process.run(task, 60, 1024**3)
        assert comparable(through_zygote[0]) == comparable(through_zygote[1]) == comparable(in_new_process)

    def test_the_zygote_has_a_child_ready_for_the_next_check_which_answers_it(self, zygote, small_file):
        spare = a_spare(zygote)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        assert gone(spare)  # it checked the file and ended
        assert a_spare(zygote) != spare

    def test_a_spare_ends_with_its_zygote_when_the_worker_goes(self, zygote):
        spare = a_spare(zygote)
        check_process._zygote.close()  # as the worker's end, when it exits
        check_process._zygote = None
        assert gone(zygote) and gone(spare)

    def test_a_spare_killed_before_its_check_is_replaced_for_it(self, zygote, small_file):
        spare = a_spare(zygote)
        os.kill(spare, signal.SIGKILL)
        assert gone(spare)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        assert the_zygote() == zygote

    def test_the_zygote_serves_the_check_after_one_it_killed_at_its_time_limit(
        self, zygote, wide_file, small_file
    ):
        outcome = check_process.run(task_for(wide_file, max_size=10**8, max_columns=10_000), 1, 2 * 1024**3)
        assert outcome.report.errors == [{"code": "timeout", "seconds": 1}]
        before = bytes_read(zygote)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        assert (the_zygote(), bytes_read(zygote) > before) == (zygote, True)

    def test_a_zygote_killed_between_checks_is_replaced_at_the_next_check(self, zygote, small_file):
        os.kill(zygote, signal.SIGKILL)
        assert gone(zygote)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        assert the_zygote() != zygote

    def test_a_started_check_runs_while_the_caller_works_and_gives_its_outcome(self, zygote, wide_file):
        task = task_for(wide_file, max_size=10**8, max_columns=10_000)
        started = check_process.Started(task, 60, 2 * 1024**3)
        # Sent: the zygote's child is checking it while this process goes on.
        assert check_process._lock.locked()
        assert started.outcome().report.status == "invalid"  # 8,000 columns, the model has 7
        assert not check_process._lock.locked()
        assert the_zygote() == zygote

    def test_an_abandoned_check_leaves_the_next_check_its_own_answer(self, zygote, wide_file, small_file):
        folder = wide_file.parent / "abandoned"
        folder.mkdir()
        started = check_process.Started(
            task_for(wide_file, max_size=10**8, max_columns=10_000), 60, 2 * 1024**3, folder.rmdir
        )
        started.abandon()
        # Its zygote is killed: its answer would otherwise be read as the next check's.
        assert gone(zygote)
        assert (folder.exists(), check_process._lock.locked()) == (False, False)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        started.abandon()  # twice, or after its outcome: nothing more
        assert the_zygote() != zygote

    def test_a_check_started_while_the_zygote_is_busy_runs_in_a_new_process(self, zygote, small_file):
        before = bytes_read(zygote)
        with check_process._lock:  # another thread's check
            started = check_process.Started(task_for(small_file), 60, 1024**3)
        assert started.outcome().report.status == "valid"
        assert bytes_read(zygote) == before

    def test_a_forked_process_starts_its_own_zygote(self, zygote, small_file):
        # As an rq work horse, forked by its job worker: its parent's zygote is not its own.
        before = bytes_read(zygote)
        answers, answer = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                status = check_process.run(task_for(small_file), 60, 1024**3).report.status
                os.write(answer, json.dumps([status, children(os.getpid(), "--zygote")]).encode())
            finally:
                os._exit(0)
        os.close(answer)
        with open(answers) as f:
            status, its_zygotes = json.load(f)
        os.waitpid(pid, 0)
        assert (status, len(its_zygotes), bytes_read(zygote)) == ("valid", 1, before)
        assert its_zygotes != [zygote]

    def test_a_check_whose_zygote_dies_is_done_again_in_a_new_process(self, zygote, held_link):
        thread, outcomes = in_thread(check_process.run, held_link.task, 60, 1024**3)
        assert held_link.asked.wait(30)
        os.kill(zygote, signal.SIGKILL)
        assert gone(zygote)
        held_link.release.set()
        thread.join(60)
        assert (outcomes[0].report.status, outcomes[0].source["source"]) == ("valid", "link")

    def test_a_zygote_that_does_not_answer_is_killed_and_the_check_reported_timeout(
        self, zygote, small_file, monkeypatch
    ):
        monkeypatch.setattr(check_process, "ZYGOTE_MARGIN", 1.0)
        os.kill(zygote, signal.SIGSTOP)
        started = time.monotonic()
        outcome = check_process.run(task_for(small_file), 1, 1024**3)
        assert outcome.report.errors == [{"code": "timeout", "seconds": 1}]
        assert time.monotonic() - started < 10
        assert gone(zygote)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        assert the_zygote() != zygote

    def test_a_second_thread_checks_in_a_new_process_while_the_zygote_is_busy(
        self, zygote, held_link, small_file
    ):
        thread, outcomes = in_thread(check_process.run, held_link.task, 60, 1024**3)
        assert held_link.asked.wait(30)
        assert len(children(zygote)) == 1  # the link's check is the zygote's child
        before = bytes_read(zygote)
        assert check_process.run(task_for(small_file), 60, 1024**3).report.status == "valid"
        # Answered while the link's check still waits, by another process than the zygote.
        assert (thread.is_alive(), bytes_read(zygote)) == (True, before)
        held_link.release.set()
        thread.join(60)
        assert (outcomes[0].report.status, outcomes[0].source["source"]) == ("valid", "link")


# Through the portal


@pytest.fixture
def dataset(armentieres_naissances):
    return armentieres_naissances


@pytest.fixture
def upload(create_with_upload, sysadmin):
    def make(dataset, content, filename="donnees.csv"):
        return create_with_upload(
            content, filename, package_id=dataset["id"], context={"user": sysadmin["name"]}
        )

    return make


def checks_queued():
    return [job for job in jobs.get_queue().jobs if job.func_name == "ckanext.mel.validation.run_job"]


def french_report(app, resource):
    response = app.get("/api/3/action/mel_validation_show", query_string={"id": resource["id"]})
    return response.json["result"]


def _spaces(text):
    return re.sub(r"\s", " ", html.unescape(text))


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
class TestHostileUploads:
    def test_every_hostile_file_gets_a_clear_french_report(self, app, dataset, upload):
        cases = {
            name: (upload(dataset, content, f"cas-{i}.csv"), code)
            for i, (name, (content, _status, code)) in enumerate(corpus().items())
        }
        jobs.Worker().work(burst=True)
        for name, (resource, code) in cases.items():
            report = french_report(app, resource)
            assert report["status"] in ("error", "invalid"), name
            error = report["errors"][0]
            assert error["code"] == code, (name, error)
            if code in FRENCH and (code != "too-many-columns" or name.startswith("tens")):
                assert FRENCH[code] in _spaces(error["message"]), (name, error["message"])

    def test_a_file_of_200000_rows_is_checked_in_the_background(self, app, dataset, upload):
        # Each line repeats the first one's identifier: invalid, with the first errors only.
        content = (HEADER + "\n" + "59017,Armentières,2024-01-01,2024-01-31,31,15,16\n" * 200_000).encode()
        resource = upload(dataset, content)
        assert french_report(app, resource)["status"] == "pending"
        jobs.Worker().work(burst=True)
        report = french_report(app, resource)
        assert (report["status"], report["errors_truncated"]) == ("invalid", True)
        assert report["errors"][0]["code"] == "primary-key"


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
class TestCheckStartedEarly:
    """resource_create starts the file's check as soon as the file is stored, and takes its
    outcome after the dataset is indexed and committed."""

    def test_the_check_runs_while_the_dataset_is_indexed(self, dataset, upload, monkeypatch):
        from ckan.lib.search.index import PackageSearchIndex

        checking_while_indexed = []
        index_package = PackageSearchIndex.index_package

        def indexing(self, pkg_dict, *args, **kwargs):
            checking_while_indexed.append(check_process._lock.locked())  # the upload's one indexing
            return index_package(self, pkg_dict, *args, **kwargs)

        monkeypatch.setattr(PackageSearchIndex, "index_package", indexing)
        resource = upload(dataset, csv_text(rows(3)).encode())
        # 2.11's resource_create stores the file after its package update, then commits (and
        # indexes): its check starts after that, from after_resource_create.
        assert checking_while_indexed == [tk.check_ckan_version("2.12")]
        assert not check_process._lock.locked()
        assert call_action("mel_validation_show", id=resource["id"])["status"] == "valid"
        assert checks_queued() == []

    def test_an_upload_beside_a_file_waiting_for_its_check_starts_only_its_own(self, dataset, upload):
        from ckan import model

        from ckanext.mel import validation

        first = upload(dataset, csv_text(rows(3)).encode(), "premier.csv")
        # As if its check had been handed over to the job worker: queued, same file.
        resource = model.Resource.get(first["id"])
        data_model = validation.data_model_for(resource)
        wanted = validation.fingerprint(resource, data_model)
        validation._store(resource, data_model, wanted, validation.PENDING, {"job": "queued"})
        model.repo.commit()
        zygote = the_zygote()
        second = upload(dataset, csv_text(rows(4)).encode(), "second.csv")
        assert call_action("mel_validation_show", id=second["id"])["status"] == "valid"
        # Nothing started for the waiting file, so nothing abandoned: the zygote lives on.
        assert the_zygote() == zygote
        assert validation.ValidationReport.get(first["id"]).status == validation.PENDING

    def test_an_upload_that_fails_after_its_check_started_leaves_no_check_behind(
        self, dataset, upload, monkeypatch
    ):
        from ckan.lib.search import SearchIndexError
        from ckan.lib.search.index import PackageSearchIndex

        index_package = PackageSearchIndex.index_package

        def solr_refuses(self, pkg_dict, *args, **kwargs):
            raise SearchIndexError("Solr refused the dataset")

        monkeypatch.setattr(PackageSearchIndex, "index_package", solr_refuses)
        with pytest.raises(SearchIndexError):
            upload(dataset, csv_text(["59017,Armentières,not a date"]).encode())
        assert not check_process._lock.locked()
        assert not list(Path(tempfile.gettempdir()).glob("mel-check-*"))
        monkeypatch.setattr(PackageSearchIndex, "index_package", index_package)
        # The next upload gets its own verdict, not the one of the check left behind.
        resource = upload(dataset, csv_text(rows(3)).encode())
        assert call_action("mel_validation_show", id=resource["id"])["status"] == "valid"


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
class TestOneJobPerFile:
    def test_a_file_checked_in_the_request_queues_nothing(self, dataset, upload, sysadmin):
        resource = upload(dataset, csv_text(rows(3)).encode())
        assert call_action("mel_validation_show", id=resource["id"])["status"] == "valid"
        call_action(
            "resource_patch",
            context={"user": sysadmin["name"]},
            id=resource["id"],
            upload=FileStorage(io.BytesIO(csv_text(rows(4)).encode()), "donnees.csv"),
            url="donnees.csv",
        )
        call_action("resource_patch", context={"user": sysadmin["name"]}, id=resource["id"], name="Renamed")
        assert call_action("mel_validation_show", id=resource["id"])["rows"] == 4
        assert checks_queued() == []

    @pytest.mark.ckan_config("ckanext.mel.validation.allowed_networks", "127.0.0.1/32")
    def test_a_resource_has_one_pending_check_and_the_newest_wins(self, dataset, sysadmin):
        context = {"user": sysadmin["name"]}
        resource = call_action(
            "resource_create", context=dict(context), package_id=dataset["id"], url="http://127.0.0.1:9/a.csv"
        )
        for name in ("b", "c", "d"):
            call_action(
                "resource_patch",
                context=dict(context),
                id=resource["id"],
                url=f"http://127.0.0.1:9/{name}.csv",
            )
        queued = checks_queued()
        assert len(queued) == 1
        jobs.Worker().work(burst=True)
        report = call_action("mel_validation_show", id=resource["id"])
        assert report["errors"][0]["url"] == "http://127.0.0.1:9/d.csv"

    @pytest.mark.ckan_config("ckanext.mel.validation.sync_max_rows", 10)
    def test_a_long_file_is_handed_over_to_the_worker_at_once(self, app, dataset, upload):
        resource = upload(dataset, csv_text(rows(50)).encode())
        report = french_report(app, resource)
        assert report["status"] == "pending"
        assert report["status_label"] == "En cours de vérification"
        assert "vérifié en arrière-plan" in report["notice"]
        page = html.unescape(app.get(f"/dataset/{dataset['name']}/resource/{resource['id']}").body)
        assert report["notice"] in page
        assert len(checks_queued()) == 1
        jobs.Worker().work(burst=True)
        report = french_report(app, resource)
        assert (report["status"], report["rows"]) == ("valid", 50)
        assert "notice" not in report

    @pytest.mark.ckan_config("ckanext.mel.validation.sync_timeout", 0)
    def test_a_check_that_outlasts_the_uploaders_patience_is_handed_over(self, dataset, upload):
        resource = upload(dataset, csv_text(rows(3)).encode())
        assert call_action("mel_validation_show", id=resource["id"])["status"] == "pending"
        assert len(checks_queued()) == 1

    @pytest.mark.ckan_config("ckanext.mel.validation.sync_timeout", 0)
    @pytest.mark.ckan_config("ckanext.mel.validation.check_timeout", 0)
    def test_a_background_check_out_of_time_is_reported_as_timeout_in_french(self, app, dataset, upload):
        resource = upload(dataset, csv_text(rows(3)).encode())
        jobs.Worker().work(burst=True)
        report = french_report(app, resource)
        assert report["status"] == "error"
        assert report["errors"][0]["code"] == "timeout"
        assert report["errors"][0]["message"] == "La vérification a pris trop de temps et a été arrêtée."

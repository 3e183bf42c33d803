"""Jobs queued by a web request's commits are queued once, when the request ends."""

import logging

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckan.tests import helpers as test_helpers

from ckanext.mel import after_request, quality
from tests.helpers import api_token


def test_a_request_calls_each_queuing_function_once_with_the_items_of_all_its_commits(app):
    calls = []

    def scores(items):
        calls.append(("scores", items))

    def changes(items):
        calls.append(("changes", items))

    with app.flask_app.test_request_context("/"):
        after_request.queue(scores, {"dataset-a"})  # a first commit
        after_request.queue(changes, {("packages", "dataset-a")})
        after_request.queue(scores, {"dataset-a", "dataset-b"})  # a second one
        assert calls == []

    assert calls == [("scores", {"dataset-a", "dataset-b"}), ("changes", {("packages", "dataset-a")})]


def test_one_that_fails_is_logged_and_the_others_are_still_queued(app, monkeypatch):
    # A handler on the module's own logger, whatever an earlier test's logging configuration
    # (CKAN's CLI, fileConfig, logging.disable) did: caplog saw nothing in a full run.
    records = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append
    monkeypatch.setattr(after_request.log, "disabled", False)
    disabled_before, level_before = logging.root.manager.disable, after_request.log.level
    logging.disable(logging.NOTSET)
    after_request.log.setLevel(logging.ERROR)
    after_request.log.addHandler(handler)
    calls = []

    def fails(items):
        raise ConnectionError("Redis is gone")

    try:
        with app.flask_app.test_request_context("/"):
            after_request.queue(fails, {"dataset-a"})
            after_request.queue(calls.append, {"dataset-a"})
    finally:
        after_request.log.removeHandler(handler)
        after_request.log.setLevel(level_before)
        logging.disable(disabled_before)

    assert calls == [{"dataset-a"}]
    assert [record.getMessage().split(" for ")[0].startswith("could not queue") for record in records] == [
        True
    ]
    assert "Redis is gone" in str(records[0].exc_info[1])


def test_outside_a_request_they_are_queued_at_once():
    calls = []
    after_request.queue(calls.append, ["dataset-a", "dataset-a"])
    assert calls == [{"dataset-a"}]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_through_the_portal_they_are_queued_once_the_response_is_sent(app, commune, sysadmin):
    """The whole answer first, then the queueing: when the server closes the response (PEP 3333)."""
    from ckan.lib import jobs

    queue = jobs.get_queue(quality.QUEUE)
    dataset = factories.Dataset(owner_org=commune["id"], title="Données", notes="Des données.")
    queue.empty()
    quality.redis().delete(quality._key(dataset["id"]) + ":queued")
    client = test_helpers.CKANTestClient(app.flask_app, test_helpers.CKANResponse)  # does not close
    response = client.post(
        "/api/3/action/package_patch",
        json={"id": dataset["id"], "title": "Données ouvertes"},
        headers={"Authorization": api_token(sysadmin["name"])},
    )
    assert (response.status_code, queue.count) == (200, 0)
    response.close()
    assert [job.args for job in queue.jobs] == [[dataset["id"]]]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_download_that_queued_nothing_reaches_the_server_as_a_file_it_can_send_whole(
    app, armentieres_naissances, upload
):
    """Wrapped for the queue, a file's body would no longer be the server's file_wrapper, which
    gunicorn sends with sendfile."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wsgi import FileWrapper

    resource = upload(armentieres_naissances, "COMMUNE,ANNEE\nArmentières,2024\n")
    path = f"/dataset/{armentieres_naissances['id']}/resource/{resource['id']}/download/donnees.csv"
    environ = EnvironBuilder(path=path, base_url=tk.config["ckan.site_url"]).get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    statuses = []
    body = app.flask_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        assert (statuses, type(body)) == (["200 OK"], FileWrapper)
    finally:
        body.close()

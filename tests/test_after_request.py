"""Jobs queued by a web request's commits are queued once, when the request ends."""

import logging

from ckanext.mel import after_request


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

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


def test_one_that_fails_is_logged_and_the_others_are_still_queued(app, caplog, monkeypatch):
    # On the module's own logger, whatever the logging configuration an earlier test loaded
    # (CKAN's CLI, fileConfig) did to it.
    monkeypatch.setattr(after_request.log, "disabled", False)
    monkeypatch.setattr(after_request.log, "propagate", True)
    caplog.set_level(logging.ERROR, logger=after_request.log.name)
    calls = []

    def fails(items):
        raise ConnectionError("Redis is gone")

    with app.flask_app.test_request_context("/"):
        after_request.queue(fails, {"dataset-a"})
        after_request.queue(calls.append, {"dataset-a"})

    assert calls == [{"dataset-a"}]
    assert "could not queue" in caplog.text and "Redis is gone" in caplog.text


def test_outside_a_request_they_are_queued_at_once():
    calls = []
    after_request.queue(calls.append, ["dataset-a", "dataset-a"])
    assert calls == [{"dataset-a"}]

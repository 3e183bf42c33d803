"""Jobs that commits queue, queued once the web request's response is sent.

A commit queues background jobs: the quality score of the datasets it changed (quality.py)
and the consolidation of the files it changed (consolidation/jobs.py). Queued at once in a web
request, the job worker would start them on the same cores while the request still runs. An
upload even commits twice (the package update, then its check's report), so its dataset would
be scored twice, the first time without its check. In a web request they are therefore queued
when it is over, each queuing function once with the items of all the request's commits:

- through the portal's WSGI stack (AfterResponse, installed by the plugin's middleware), when
  the server closes the response, which a WSGI server does once it has sent it (PEP 3333): the
  user does not wait for the queueing (a few Redis round trips);
- in a request context of its own (no WSGI server: a script's test_request_context), when the
  context ends (Flask's teardown);
- anywhere else (a job, the CLI), at once.

A process that dies before then loses them: the next page view queues the score again, and the
nightly run consolidates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import flask
from werkzeug.wsgi import ClosingIterator

log = logging.getLogger(__name__)

_PENDING = "mel_after_request"  # in flask.g, or in the WSGI environ (AfterResponse)
Pending = dict[Callable[[set[Any]], None], set[Any]]


def queue(function: Callable[[set[Any]], None], items: Iterable[Hashable]) -> None:
    """Call `function(items)` (which queues jobs) once the web request is over, or now outside one.

    In a request, `function` is called once, with the items of every call the request made.
    """
    if not flask.has_request_context():
        _call(function, set(items))
        return
    pending: Pending | None = flask.request.environ.get(_PENDING)
    if pending is None:
        pending = flask.g.setdefault(_PENDING, {})
    pending.setdefault(function, set()).update(items)


class AfterResponse:
    """WSGI: what the request queued is run when the server closes its response."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        pending: Pending = {}
        environ[_PENDING] = pending
        try:
            body = self.app(environ, start_response)
        except BaseException:
            run(pending)
            raise
        if not pending:
            # Nothing queued: the body as it is (a file download keeps the server's sendfile);
            # what a streamed body's context would queue later goes to its teardown.
            environ.pop(_PENDING, None)
            return body
        return ClosingIterator(body, lambda: run(pending))


def install(app: flask.Flask) -> None:
    if not isinstance(app.wsgi_app, AfterResponse):
        app.wsgi_app = AfterResponse(app.wsgi_app)  # type: ignore[method-assign]
    app.teardown_request(_run_in_context)


def _run_in_context(_error: BaseException | None = None) -> None:
    """Flask's teardown: what a request context outside the WSGI stack queued."""
    run(flask.g.pop(_PENDING, {}))


def run(pending: Pending) -> None:
    """What was queued, in the order first queued (once: it is emptied)."""
    while pending:
        function = next(iter(pending))
        _call(function, pending.pop(function))


def _call(function: Callable[[set[Any]], None], items: set[Any]) -> None:
    try:
        function(items)
    except Exception:  # noqa: BLE001 - the commit is done; a page view or the nightly run catches up
        log.exception("could not queue %r for %r", function, items)

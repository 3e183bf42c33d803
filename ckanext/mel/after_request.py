"""Jobs that commits queue, queued once the web request is over.

A commit queues background jobs: the quality score of the datasets it changed (quality.py)
and the consolidation of the files it changed (consolidation/jobs.py). Queued at once in a web
request, the job worker would start them on the same cores while the request still runs. An
upload even commits twice (the package update, then its check's report), so its dataset would
be scored twice, the first time without its check. In a web request they are therefore queued
when it ends (Flask's teardown, once the response is built), each queuing function once with
the items of all the request's commits; anywhere else (a job, the CLI), at once. A process
that dies before the end of its request loses them: the next page view queues the score
again, and the nightly run consolidates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import flask

log = logging.getLogger(__name__)

_PENDING = "mel_after_request"


def queue(function: Callable[[set[Any]], None], items: Iterable[Hashable]) -> None:
    """Call `function(items)` (which queues jobs) at the end of the web request, or now outside one.

    In a request, `function` is called once, with the items of every call the request made.
    """
    if flask.has_request_context():
        flask.g.setdefault(_PENDING, {}).setdefault(function, set()).update(items)
    else:
        _call(function, set(items))


def run_pending(_error: BaseException | None = None) -> None:
    """Flask's teardown of each request: what its commits queued, in the order first queued."""
    for function, items in flask.g.pop(_PENDING, {}).items():
        _call(function, items)


def install(app: Any) -> None:
    app.teardown_request(run_pending)


def _call(function: Callable[[set[Any]], None], items: set[Any]) -> None:
    try:
        function(items)
    except Exception:  # noqa: BLE001 - the commit is done; a page view or the nightly run catches up
        log.exception("could not queue %r for %r", function, items)

"""Jobs that commits queue, queued once the web request is over.

A commit queues background jobs: the quality score of the datasets it changed (quality.py)
and the consolidation of the files it changed (consolidation/jobs.py). Queued at once in a web
request, the job worker would start them on the same cores while the request still runs. An
upload even commits twice (the package update, then its check's report), so its dataset would
be scored twice, the first time without its check. In a web request they are therefore queued
when it ends (Flask's teardown, once the response is built); anywhere else (a job, the CLI),
at once. A process that dies before the end of its request loses them: the next page view
queues the score again, and the nightly run consolidates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flask

log = logging.getLogger(__name__)

_PENDING = "mel_after_request"


def queue(function: Callable[[], None]) -> None:
    """Call `function` (which queues jobs) at the end of the web request, or now outside one."""
    if flask.has_request_context():
        flask.g.setdefault(_PENDING, []).append(function)
    else:
        _call(function)


def run_pending(_error: BaseException | None = None) -> None:
    """Flask's teardown of each request: what its commits queued, in their order."""
    for function in flask.g.pop(_PENDING, []):
        _call(function)


def install(app: Any) -> None:
    app.teardown_request(run_pending)


def _call(function: Callable[[], None]) -> None:
    try:
        function()
    except Exception:  # noqa: BLE001 - the commit is done; a page view or the nightly run catches up
        log.exception("could not queue %r", function)

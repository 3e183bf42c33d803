"""The portal's recurring jobs, queued by `ckan mel scheduler` (one small loop
process beside the job workers; `make run` starts it).

CKAN 2.12's worker scheduler (rq 2) only runs jobs queued for a given time, and
CKAN 2.11's has none: a recurring job still needs something that queues it.
This loop does that on both versions, the same way. Several app servers may
each run one: a Redis key per job and per due time (SET NX) makes sure each run
is queued once, whoever queues it.

A job is queued on the default queue as a dotted function name with no
arguments; the job workers run it with the site user's rights.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import ckan.plugins.toolkit as tk

from ckanext.mel.redis_client import redis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecurringJob:
    """A job queued every day at `at` (local time), or every `every` seconds."""

    name: str
    function: str
    at: datetime.time | None = None
    every: int | None = None
    timeout: int = 1800
    # Also queued once when the scheduler starts (the portal just (re)started).
    at_start: bool = False

    def due_key(self, now: datetime.datetime) -> str | None:
        """The identity of the run due at `now`, or None if none is due yet today."""
        if self.every:
            slot = int(now.timestamp()) // self.every
            return f"{self.name}:{slot}"
        assert self.at is not None
        if now.time() < self.at:
            return None
        return f"{self.name}:{now.date().isoformat()}"


# Every recurring job of the portal. Times are Europe/Paris (ckan.display_timezone).
JOBS: list[RecurringJob] = [
    RecurringJob(
        "enrolment-reminders",
        "ckanext.mel.notifications.send_due_reminders_job",
        at=datetime.time(7, 0),
    ),
    # Solr made to agree with the database after a crash (reconcile.py).
    RecurringJob("search-reconcile", "ckanext.mel.reconcile.reconcile_job", every=900, at_start=True),
    # The metropolitan datasets rebuilt, behind their live jobs (consolidation/jobs.py).
    RecurringJob(
        "consolidation",
        "ckanext.mel.consolidation.jobs.nightly_job",
        at=datetime.time(3, 0),
        timeout=4 * 3600,
    ),
]


def _timezone() -> ZoneInfo:
    name = tk.config.get("ckan.display_timezone") or "UTC"
    try:
        return ZoneInfo("UTC" if name == "server" else name)
    except Exception:  # an unknown zone name: fall back rather than never run
        return ZoneInfo("UTC")


def queue_due_jobs(now: datetime.datetime | None = None, jobs: list[RecurringJob] | None = None) -> list[str]:
    """Queue each job whose run is due and not queued yet by anyone; returns their names."""
    now = now or datetime.datetime.now(_timezone())
    client = redis()
    site_id = tk.config.get("ckan.site_id")
    queued = []
    for job in JOBS if jobs is None else jobs:
        key = job.due_key(now)
        if key is None:
            continue
        # Kept two days: long enough that a restart the same day does not queue again.
        if not client.set(f"ckanext-mel:{site_id}:scheduled:{key}", now.isoformat(), nx=True, ex=2 * 86400):
            continue
        tk.enqueue_job(job.function, title=f"mel: {job.name}", rq_kwargs={"timeout": job.timeout})
        log.info("queued %s (%s)", job.name, key)
        queued.append(job.name)
    return queued


def queue_start_jobs(jobs: list[RecurringJob] | None = None) -> list[str]:
    """Queue the jobs that run when the portal starts; returns their names."""
    queued = []
    for job in JOBS if jobs is None else jobs:
        if job.at_start:
            tk.enqueue_job(job.function, title=f"mel: {job.name} (start)", rq_kwargs={"timeout": job.timeout})
            queued.append(job.name)
    return queued


def run_forever(interval: float = 30.0) -> None:
    log.info("scheduler started: %s", ", ".join(job.name for job in JOBS))
    try:
        queue_start_jobs()
    except Exception:  # Redis briefly away: the recurring runs still come
        log.exception("could not queue the start jobs")
    while True:
        try:
            queue_due_jobs()
        except Exception:  # Redis briefly away: log, try again next round
            log.exception("could not queue the due jobs")
        time.sleep(interval)

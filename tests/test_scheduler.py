"""ckanext/mel/scheduler.py: the recurring jobs are queued once per due time,
whoever runs the scheduler (several app servers may), on the real Redis queue."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from ckan.lib import jobs

from ckanext.mel import scheduler

PARIS = ZoneInfo("Europe/Paris")
DAILY = scheduler.RecurringJob(
    "test-daily", "ckanext.mel.notifications.send_due_reminders_job", at=datetime.time(7, 0)
)
EVERY_MINUTE = scheduler.RecurringJob(
    "test-minute", "ckanext.mel.notifications.send_due_reminders_job", every=60
)


@pytest.fixture
def queue(clean_redis):
    yield jobs.get_queue()


def _titles(queue) -> list[str]:
    return [job.meta.get("title") for job in queue.jobs]


def test_a_daily_job_is_not_queued_before_its_time(queue):
    assert scheduler.queue_due_jobs(datetime.datetime(2026, 12, 1, 6, 59, tzinfo=PARIS), [DAILY]) == []
    assert _titles(queue) == []


def test_a_daily_job_is_queued_once_that_day_however_many_schedulers_ask(queue):
    at_seven = datetime.datetime(2026, 12, 1, 7, 0, tzinfo=PARIS)
    assert scheduler.queue_due_jobs(at_seven, [DAILY]) == ["test-daily"]
    # A second scheduler (another app server), then the same one an hour later.
    assert scheduler.queue_due_jobs(at_seven, [DAILY]) == []
    assert scheduler.queue_due_jobs(at_seven + datetime.timedelta(hours=1), [DAILY]) == []
    assert _titles(queue) == ["mel: test-daily"]
    # The next day it is due again.
    assert scheduler.queue_due_jobs(at_seven + datetime.timedelta(days=1), [DAILY]) == ["test-daily"]
    assert _titles(queue) == ["mel: test-daily", "mel: test-daily"]


def test_an_interval_job_is_queued_once_per_interval(queue):
    start = datetime.datetime(2026, 12, 1, 3, 0, 0, tzinfo=PARIS)
    assert scheduler.queue_due_jobs(start, [EVERY_MINUTE]) == ["test-minute"]
    assert scheduler.queue_due_jobs(start + datetime.timedelta(seconds=30), [EVERY_MINUTE]) == []
    assert scheduler.queue_due_jobs(start + datetime.timedelta(seconds=60), [EVERY_MINUTE]) == ["test-minute"]


def test_the_portal_schedules_the_daily_reminders():
    names = {job.name: job for job in scheduler.JOBS}
    reminders = names["enrolment-reminders"]
    assert reminders.at == datetime.time(7, 0)
    # The function the workers will import exists.
    module, _, function = reminders.function.rpartition(".")
    assert callable(getattr(__import__(module, fromlist=[function]), function))

"""Keeping the metropolitan datasets live: one debounced job per data model.

Every committed change that may change a model's union — a file checked or loaded,
a file taken out of the API, a dataset deleted, made private or moved to another
model, a commune that leaves — queues one job, through the same session events the
quality score uses (quality.py), whatever the path (API, form, CLI, job). While a
model's job waits in the queue, further changes queue nothing (a Redis key per
model): one job takes them all. The jobs have a queue of their own (`ckan jobs worker
default mel_quality mel_consolidation`), so that a model's rebuild (minutes at 95
communes × 10,000 rows) never delays a commune's file check, and the changes of many
commits wait as one job (their ids gathered in Redis), not one job per commit. Two
jobs of one model never run at once: each holds
a PostgreSQL advisory lock on its model, so a second waits for the first and then
reads what the first could not see. The scheduler's nightly run rebuilds every model,
the safety net for a job lost with its worker.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import model
from sqlalchemy import event
from sqlalchemy.orm import Session

from ckanext.mel import after_request, datamodels
from ckanext.mel.consolidation import build
from ckanext.mel.redis_client import redis

log = logging.getLogger(__name__)

_CHANGED = "mel_consolidation_changed"
QUEUE = "mel_consolidation"
# The datasets, files and organisations changed since the waiting "changes" job was queued.
_KINDS = ("packages", "resources", "organizations")
# A queued job whose worker died leaves its key: it expires, and the nightly run catches up.
QUEUED_SECONDS = 3600


def _key(name: str) -> str:
    return f"ckanext-mel:{tk.config.get('ckan.site_id')}:consolidation:{name}"


def _queued_key(name: str) -> str:
    return _key(name) + ":queued"


def _queue_once(name: str, function: Any, args: list[Any], title: str) -> bool:
    """Queue the job unless the one of that name still waits in the queue; True if queued now."""
    client = redis()
    key = _queued_key(name)
    job_id = f"{tk.config.get('ckan.site_id')}-mel-consolidation-{name}-{uuid.uuid4().hex[:8]}"
    if not client.set(key, job_id, nx=True, ex=QUEUED_SECONDS):
        waiting = client.get(key)
        if waiting and _still_queued(waiting.decode() if isinstance(waiting, bytes) else waiting):
            return False
        client.set(key, job_id, ex=QUEUED_SECONDS)  # its job was lost (a queue emptied): queue anew
    tk.enqueue_job(
        function,
        args,
        title=title,
        queue=QUEUE,
        rq_kwargs={"timeout": tk.config.get("ckanext.mel.consolidation.job_timeout"), "job_id": job_id},
    )
    return True


def queue(model_id: str) -> bool:
    """Queue the model's consolidation unless one is already waiting; True if queued now."""
    if datamodels.get(model_id) is None:
        return False
    return _queue_once(model_id, consolidate_job, [model_id], f"mel: consolidate data model {model_id}")


def _still_queued(job_id: str) -> bool:
    from ckan.lib import jobs
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue = jobs.get_queue(QUEUE)
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return False
    if job.get_status(refresh=True) in ("deferred", "scheduled"):
        return True
    # Queued, and still in the queue: an emptied queue may leave the job's own record behind.
    return job.get_status() == "queued" and job_id in queue.job_ids


def consolidate_job(model_id: str) -> None:
    """The background job: rebuild the model's metropolitan dataset, alone for its model."""
    redis().delete(_queued_key(model_id))  # changes from now on queue another run
    try:
        with model_lock(model_id):
            build.consolidate(model_id)
    except tk.ObjectNotFound as error:  # no MEL organisation (yet): nothing to publish under
        log.warning("Data model %s not consolidated: %s", model_id, error)


class model_lock:
    """A session-level advisory lock on its own connection: commits of the work do not release it."""

    def __init__(self, model_id: str) -> None:
        self.key = f"mel_consolidation:{model_id}"
        self.connection: Any = None

    def __enter__(self) -> None:
        self.connection = model.meta.engine.connect()
        self.connection.execute(sa.text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": self.key})

    def __exit__(self, *_exc: Any) -> None:
        try:
            self.connection.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": self.key})
        finally:
            self.connection.close()


def nightly_job() -> None:
    """Every data model rebuilt (scheduler.py): the safety net behind the live jobs."""
    for data_model in datamodels.all_models():
        try:
            with model_lock(data_model.id):
                build.consolidate(data_model.id)
        except Exception:  # one model's failure must not stop the others
            log.exception("Consolidating data model %s failed", data_model.id)
            model.Session.rollback()


def changed_job() -> None:
    """After commits: queue the models that the datasets, files and organisations changed may change."""
    from ckanext.mel.consolidation.sources import models_of_packages

    client = redis()
    client.delete(_queued_key("changes"))  # commits from now on queue another run
    with client.pipeline() as pipe:  # read and forget the gathered ids at once
        for kind in _KINDS:
            pipe.smembers(_key(f"changes:{kind}"))
            pipe.delete(_key(f"changes:{kind}"))
        replies = pipe.execute()
    package_ids, resource_ids, organization_ids = (
        {i.decode() if isinstance(i, bytes) else i for i in members} for members in replies[::2]
    )
    model.Session.rollback()
    packages = set(package_ids)
    for resource_id in resource_ids:
        resource = model.Resource.get(resource_id)
        if resource is not None:
            packages.add(resource.package_id)
    if organization_ids:
        owned = model.Session.query(model.Package.id).filter(
            model.Package.owner_org.in_(sorted(organization_ids))
        )
        packages.update(package_id for (package_id,) in owned)
    for model_id in sorted(models_of_packages(packages)):
        queue(model_id)


# Every committed change, by any path, to a dataset, a file, its check or its load.


def _note_changes(session: Session, _flush_context: Any) -> None:
    if session.info.get(build.SESSION_FLAG):
        return  # a consolidation's own writes
    from ckanext.mel.loader.state import DatastoreLoad
    from ckanext.mel.validation import ValidationReport

    changed = session.info.setdefault(_CHANGED, set())  # (kind, id), kind one of _KINDS
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, model.Package) and obj.id and obj.type == "dataset":
            changed.add(("packages", obj.id))
        elif isinstance(obj, model.Resource) and obj.package_id:
            changed.add(("packages", obj.package_id))
        elif isinstance(obj, ValidationReport) and obj.package_id:
            changed.add(("packages", obj.package_id))
        elif isinstance(obj, DatastoreLoad) and obj.resource_id:
            changed.add(("resources", obj.resource_id))
        elif isinstance(obj, model.Group) and obj.is_organization and obj.state != "active":
            changed.add(("organizations", obj.id))  # a commune that leaves: the job finds its datasets
    if not changed:
        session.info.pop(_CHANGED, None)


def _queue_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        after_request.queue(_queue_changes, changed)


def _queue_changes(changed: set[tuple[str, str]]) -> None:
    """Note the committed changes (kind, id) for changed_job, and queue it unless it is waiting already."""
    with redis().pipeline() as pipe:
        for kind in _KINDS:
            ids = [id_ for of_kind, id_ in changed if of_kind == kind]
            if ids:
                pipe.sadd(_key(f"changes:{kind}"), *ids)
        pipe.execute()
    _queue_once("changes", changed_job, [], "mel: changes for the consolidation")


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def watch_changes() -> None:
    if not event.contains(model.Session, "after_flush", _note_changes):
        event.listen(model.Session, "after_flush", _note_changes)
        event.listen(model.Session, "after_commit", _queue_after_commit)
        event.listen(model.Session, "after_rollback", _forget_after_rollback)

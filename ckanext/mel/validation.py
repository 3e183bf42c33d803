"""Resource validation: a dataset's CSV files checked against its data model.

A tabular resource of a dataset that has a data model is checked whenever its
file, its link or the model changes (its "fingerprint"): small uploads at once,
in the request; links and larger files in a background job. One report per
resource is kept in mel_validation_report, valid or not, and shown on the
resource page. After a check the dataset's spatial extent is refreshed (see
extent.py), which never triggers a new check: nothing it changes is part of a
fingerprint.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from rq.timeouts import JobTimeoutException

from ckanext.mel import check_process, datamodels, extent, links, loader, storage, tabular
from ckanext.mel.model import ERROR, INVALID, PENDING, VALID, ValidationReport
from ckanext.mel.vocabularies import TABULAR_FORMATS, format_of

log = logging.getLogger(__name__)

# What is checked, and when


def data_model_for(resource: model.Resource) -> datamodels.DataModel | None:
    """The model a resource is checked against: None for files that are not checked."""
    if resource.url_type == "datastore":
        return None  # a DataStore table (a metropolitan dataset's), not a file
    data_model = datamodels.get(resource.package.extras.get("data_model"))
    fmt = format_of(resource.format, resource.url)
    if data_model is None or fmt is None or fmt.name not in TABULAR_FORMATS or not resource.url:
        return None
    return data_model


def fingerprint(resource: model.Resource, data_model: datamodels.DataModel) -> str:
    """What the outcome depends on: the file (or link) and the model."""
    parts = [
        resource.url,
        resource.url_type or "",
        str(resource.last_modified or ""),
        data_model.id,
    ]
    return hashlib.sha1(json.dumps(parts).encode()).hexdigest()


def upload_size(resource: model.Resource) -> int | None:
    if resource.url_type != "upload":
        return None
    try:
        return storage.size(resource.id)
    except OSError:
        return None


# A check the upload path started early (start_checks): the fingerprint it checks, and the check.
Early = tuple[str, check_process.Started]


def on_resource_changed(
    resource_id: str, in_request: bool = True, force: bool = False, early: Early | None = None
) -> None:
    """Check the resource if its file, link or model changed since its last report.

    `in_request` is false inside a package update that has not committed yet:
    everything is then left to a background job. `force` checks it again anyway.
    `early` is its check started by start_checks, if any.
    """
    resource = model.Resource.get(resource_id)
    if resource is None or resource.state != "active":
        return
    data_model = data_model_for(resource)
    report = ValidationReport.get(resource_id)
    if data_model is None:
        if report is not None:
            model.Session.delete(report)
            loader.on_unchecked(resource_id)
            if in_request:
                model.repo.commit()
                _commit_with_refresh(resource.package_id)
        return
    wanted = fingerprint(resource, data_model)
    if not force and _up_to_date(report, wanted):
        return
    handed_over = False
    if in_request and _small_upload(resource):
        if run(resource_id, in_request=True, early=early):
            return
        handed_over = True  # too long to check while the uploader waits
    elif not force and report is not None and report.fingerprint == wanted:
        return  # already queued
    _queue(resource, data_model, wanted, report, in_request, handed_over)


def _up_to_date(report: ValidationReport | None, wanted: str) -> bool:
    return report is not None and report.fingerprint == wanted and report.status != PENDING


def _small_upload(resource: model.Resource) -> bool:
    """An upload small enough to be checked while its uploader waits."""
    size = upload_size(resource)
    return size is not None and size <= tk.config.get("ckanext.mel.validation.sync_max_size")


def start_checks(package: model.Package) -> dict[str, Early]:
    """The checks on_resource_changed will run in the request, started as soon as the files are
    stored: resource_create/update's package update calls this (after_dataset_update), so the check
    process works while the dataset is indexed and committed, and after_resource_create/update
    takes the outcome. The caller abandons those it does not take. Only files changed since their
    last report are started: one whose check waits in the queue is the job worker's, and the
    action's hook is called for its own file only."""
    started: dict[str, Early] = {}
    for resource in package.resources:
        data_model = data_model_for(resource) if resource.state == "active" else None
        if data_model is None or not _small_upload(resource):
            continue
        wanted = fingerprint(resource, data_model)
        report = ValidationReport.get(resource.id)
        if report is not None and report.fingerprint == wanted:
            continue  # checked, or queued, as it is
        check = _start(resource, data_model, in_request=True)
        if isinstance(check, check_process.Started):
            started[resource.id] = (wanted, check)
    return started


def _queue(
    resource: model.Resource,
    data_model: datamodels.DataModel,
    wanted: str,
    previous: ValidationReport | None,
    in_request: bool,
    handed_over: bool,
) -> None:
    """Queue the resource's check; a check of it still waiting in the queue is dropped: the newest wins."""
    old_job = (
        (previous.report or {}).get("job") if previous is not None and previous.status == PENDING else None
    )
    job_id = f"mel-validation-{resource.id}-{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {"data_model": data_model.id, "job": job_id}
    if handed_over:
        body["handed_over"] = True
    _store(resource, data_model, wanted, PENDING, body)
    if in_request:
        model.repo.commit()
    _drop_job(old_job)
    tk.enqueue_job(
        run_job,
        [resource.id, wanted],
        title=f"mel: check resource {resource.id}",
        rq_kwargs={"timeout": tk.config.get("ckanext.mel.validation.job_timeout"), "job_id": job_id},
    )


def _drop_job(job_id: str | None) -> None:
    """Take a queued check out of the queue (one that already started finds its file changed and
    drops its outcome)."""
    if not job_id:
        return
    from ckan.lib import jobs
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=jobs.get_queue().connection)
        if job.get_status(refresh=True) in ("queued", "deferred", "scheduled"):
            job.delete()
    except NoSuchJobError:
        pass
    except Exception:  # the queue is the worker's business: the new check is queued anyway
        log.exception("Could not drop the queued check %s", job_id)


def on_resource_deleted(package_id: str) -> None:
    """A deleted file no longer counts in the dataset's extent."""
    if ValidationReport.for_package(package_id):
        _commit_with_refresh(package_id)


def run_job(resource_id: str, wanted: str) -> None:
    """The background job: check the resource, unless it changed again since."""
    for _attempt in range(20):
        # The request that queued the job may not have committed yet.
        model.Session.rollback()
        resource = model.Resource.get(resource_id)
        data_model = data_model_for(resource) if resource is not None else None
        if data_model is not None and fingerprint(resource, data_model) == wanted:
            break
        time.sleep(0.5)
    else:
        log.info("Resource %s changed or went away before its check; skipped", resource_id)
        return
    report = ValidationReport.get(resource_id)
    if report is not None and report.fingerprint == wanted and report.status != PENDING:
        return  # checked in the request meanwhile
    run(resource_id)


def run(resource_id: str, in_request: bool = False, early: Early | None = None) -> bool:
    """Check the resource now in a bounded check process, store the report, then refresh the dataset.

    In a request the check has the uploader's patience (`sync_timeout`, `sync_max_rows`):
    one that would take longer stores nothing and returns False, for the caller to queue it.
    Out of a request, the outcome is dropped if the file changed meanwhile: a newer check is queued.
    `early` is the check start_checks started, taken if it checks this very file and model.
    """
    resource = model.Resource.get(resource_id)
    data_model = data_model_for(resource)
    if data_model is None:
        raise ValueError(f"resource {resource_id} is not checked against a data model")
    wanted = fingerprint(resource, data_model)
    started = None
    if early is not None:
        if early[0] == wanted:
            started = early[1]
        else:
            early[1].abandon()
    try:
        checked = started.outcome() if started else _check(resource, data_model, in_request)
        outcome, source = checked.report, checked.source
    except JobTimeoutException:
        outcome, source = tabular.failure("timeout"), {}
    except Exception:  # a report, whatever happens: never a stuck "pending"
        log.exception("Checking resource %s failed", resource_id)
        outcome, source = tabular.failure("internal"), {}
    if in_request and (outcome.status == "deferred" or _code(outcome) == "timeout"):
        return False
    if not in_request:
        model.Session.expire_all()
        resource = model.Resource.get(resource_id)
        current = data_model_for(resource) if resource is not None else None
        if current is None or fingerprint(resource, current) != wanted:
            log.info("Resource %s changed during its check; its outcome is dropped", resource_id)
            return True
    body = {
        **outcome.as_dict(),
        **source,
        "data_model": data_model.id,
        "schema_url": data_model.url,
    }

    def keep() -> Callable[[], None] | None:
        _store(resource, data_model, wanted, outcome.status, body)
        return loader.on_checked(resource_id)  # the DataStore table follows the verdict

    _commit_with_refresh(resource.package_id, keep)
    return True


def _code(report: tabular.Report) -> str | None:
    return report.errors[0].get("code") if report.status == ERROR and report.errors else None


def _store(
    resource: model.Resource,
    data_model: datamodels.DataModel,
    wanted: str,
    status: str,
    body: dict[str, Any],
) -> ValidationReport:
    report = ValidationReport.get(resource.id)
    now = datetime.datetime.utcnow()
    if report is None:
        report = ValidationReport(resource_id=resource.id, blocked=False)
        model.Session.add(report)
    report.package_id = resource.package_id
    report.status, report.data_model, report.fingerprint = status, data_model.id, wanted
    report.report = body
    report.created = now if status == PENDING or report.created is None else report.created
    report.finished = None if status == PENDING else now
    model.Session.flush()  # the session does not autoflush: what follows reads it
    return report


# What a check writes, and what it runs once that is committed.
Keep = Callable[[], Callable[[], None] | None]


def _commit_with_refresh(package_id: str, keep: Keep | None = None) -> None:
    """Commit what `keep` writes (a check's report) with the dataset's refresh (apply_reports): one
    commit on the upload path. If the refresh fails, it is undone and what `keep` writes is
    committed alone; the next check refreshes the dataset. `keep` returns what to run once that is
    committed. (No savepoint: SQLAlchemy fires the session's commit hooks, CKAN's and the job
    queues', when a savepoint is released too, before anything is committed.)"""
    then = keep() if keep else None
    reindex = False
    try:
        reindex = apply_reports(package_id)
        model.repo.commit()
    except Exception:
        log.exception("Refreshing dataset %s after a check failed", package_id)
        model.Session.rollback()
        then = keep() if keep else None
        model.repo.commit()
    if reindex:
        extent.reindex(package_id)
    if then is not None:
        then()


def apply_reports(package_id: str) -> bool:
    """Refresh the dataset after a check: its extent (extent.py) and, if invalid data blocks, its
    visibility. A change of visibility goes through package_patch, as the site user, past the
    enrolment rule and the quota, which commits and reindexes. A new extent alone is written
    without a second package update, in the caller's transaction: True when the dataset is to be
    reindexed once that is committed."""
    package = model.Package.get(package_id)
    if package is None or package.state == "deleted":
        return False
    coverage = extent.refreshed_coverage(package)
    private = visibility_after_check(package)
    if private is not None:
        changes: dict[str, Any] = {"private": private}
        if coverage is not None:
            changes["spatial_coverage"] = coverage
        tk.get_action("package_patch")(extent.system_context(), {"id": package_id, **changes})
        return False
    if coverage is None:
        return False
    extent.write_coverage(package, coverage)
    return True


def visibility_after_check(package: model.Package) -> bool | None:
    """The publish policy of ckanext.mel.validation.block_invalid: a public dataset with an invalid
    file becomes private (True), and public again (False) once none is invalid, if a check made it
    private, never one its agent made private. None: it stays as it is. Marks the reports."""
    if not tk.config.get("ckanext.mel.validation.block_invalid"):
        return None
    active = {r.id for r in package.resources}
    reports = [r for r in ValidationReport.for_package(package.id) if r.resource_id in active]
    invalid = [r for r in reports if r.status == INVALID]
    if invalid and not package.private:
        for report in invalid:
            report.blocked = True
        return True
    if not invalid and package.private and any(r.blocked for r in reports):
        for report in reports:
            report.blocked = False
        return False
    return None


# Reading the file, bounded


def limits(in_request: bool) -> tabular.Limits:
    """What a file may not exceed to be parsed at all (and, in a request, to be checked there)."""
    get = tk.config.get
    return tabular.Limits(
        max_columns=get("ckanext.mel.validation.max_columns"),
        max_line_length=get("ckanext.mel.validation.max_line_length"),
        max_cell_length=get("ckanext.mel.validation.max_cell_length"),
        max_rows=get("ckanext.mel.validation.sync_max_rows") if in_request else None,
    )


def fetch_policy() -> links.Policy:
    networks: list[links.Network] = []
    values = tk.config.get("ckanext.mel.validation.allowed_networks") or []
    if isinstance(values, str):  # as a test or an environment variable sets it
        values = values.replace(",", " ").split()
    for value in values:
        try:
            networks.extend(links.parse_networks([value]))
        except ValueError:
            log.error("ckanext.mel.validation.allowed_networks: %r is not an address range; ignored", value)
    return links.Policy(
        max_bytes=tk.config.get("ckanext.mel.validation.max_size"),
        deadline=tk.config.get("ckanext.mel.validation.fetch_timeout"),
        max_redirects=tk.config.get("ckanext.mel.validation.max_redirects"),
        allowed_networks=tuple(networks),
    )


def _check_options(resource: model.Resource, data_model: datamodels.DataModel) -> dict[str, Any]:
    """What tabular.check needs beyond the model: a spreadsheet's sheet, where the rows' points may be."""
    return {"sheet_names": data_model.sheet_names(), "area": extent.area_for(resource.package)}


def _check(
    resource: model.Resource, data_model: datamodels.DataModel, in_request: bool
) -> check_process.Outcome:
    started = _start(resource, data_model, in_request)
    return started if isinstance(started, check_process.Outcome) else started.outcome()


def _start(
    resource: model.Resource, data_model: datamodels.DataModel, in_request: bool
) -> check_process.Started | check_process.Outcome:
    """The check started by check_process, within the memory and time limits (or its outcome
    already, for a file it cannot start on). An upload is read from the portal's storage (copied to
    a private temporary file for the check process), a link is fetched by the check process under
    the link policy (links.py)."""
    get = tk.config.get
    max_size = get("ckanext.mel.validation.max_size")
    timeout = (
        get("ckanext.mel.validation.sync_timeout")
        if in_request
        else get("ckanext.mel.validation.check_timeout")
    )
    memory = get("ckanext.mel.validation.max_memory")
    task = check_process.Task(
        schema=data_model.schema(),
        coordinates=data_model.coordinates,
        limits=limits(in_request),
        max_size=max_size,
        options=_check_options(resource, data_model),
    )
    if resource.url_type != "upload":
        task = dataclasses.replace(task, url=resource.url, fetch=fetch_policy())
        return check_process.Started(task, timeout, memory)
    size = storage.size(resource.id)
    if size is None:
        return check_process.Outcome(tabular.failure("missing-file"), {"source": "upload"})
    if size > max_size:
        return check_process.Outcome(
            tabular.failure("too-large", limit=max_size), {"source": "upload", "size": size}
        )
    folder = tempfile.TemporaryDirectory(prefix="mel-check-")
    path = os.path.join(folder.name, "upload")
    try:
        with open(path, "wb") as f:
            for chunk in storage.chunks(resource.id):
                f.write(chunk)
                if f.tell() > max_size:
                    break
        return check_process.Started(dataclasses.replace(task, path=path), timeout, memory, folder.cleanup)
    except FileNotFoundError:
        folder.cleanup()
        return check_process.Outcome(tabular.failure("missing-file"), {"source": "upload"})
    except BaseException:
        folder.cleanup()
        raise


# Reports, as the API and the resource page show them


def show(resource_id: str) -> dict[str, Any] | None:
    report = ValidationReport.get(resource_id)
    return dictize(report) if report is not None else None


# ckanext-validation's words for a resource's status, which API clients and harvesters know.
API_STATUS = {PENDING: "created", VALID: "success", INVALID: "failure", ERROR: "error"}


def _resources(datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for d in datasets for r in d.get("resources") or [] if isinstance(r, dict) and r.get("id")]


def add_status(datasets: list[dict[str, Any]]) -> None:
    """Each checked resource's `validation_status` and `validation_timestamp`, as ckanext-validation
    gives them, on datasets as package_show, resource_show and package_search return them: one query.

    A resource that is not checked against a data model has neither.
    """
    resources = _resources(datasets)
    for resource in resources:
        resource.pop("validation_status", None)
        resource.pop("validation_timestamp", None)
    # Only a dataset with a data model has reports (on_resource_changed drops them with the model).
    ids = {r["id"] for r in _resources([d for d in datasets if d.get("data_model")])}
    if not ids:
        return
    # The four columns it shows, not the reports' bodies (their errors can weigh megabytes).
    columns = (
        ValidationReport.resource_id,
        ValidationReport.status,
        ValidationReport.created,
        ValidationReport.finished,
    )
    reports = {
        report.resource_id: report
        for report in model.Session.query(*columns).filter(ValidationReport.resource_id.in_(ids))
    }
    for resource in resources:
        report = reports.get(resource["id"])
        if report is None:
            continue
        status = ERROR if report.status == PENDING and _stalled(report.created) else report.status
        moment = report.finished or report.created
        resource["validation_status"] = API_STATUS.get(status, status)
        resource["validation_timestamp"] = moment.isoformat() if moment else None


def dictize(report: ValidationReport) -> dict[str, Any]:
    body = dict(report.report or {})
    body.pop("job", None)
    if report.status == PENDING and body.pop("handed_over", False):
        body["notice"] = tk._(
            "This file is long to check: it is being checked in the background. "
            "Its report shows here when the check is done."
        )
    errors = [
        dict(error, message=describe(error), problem=explain(error)) for error in body.pop("errors", [])
    ]
    data_model = datamodels.get(report.data_model)
    status = report.status
    if status == PENDING and _stalled(report.created):
        stalled = {"code": "stalled"}
        status, errors = ERROR, [dict(stalled, message=describe(stalled), problem=explain(stalled))]
    return {
        **body,
        "resource_id": report.resource_id,
        "package_id": report.package_id,
        "status": status,
        "status_label": status_label(status),
        "data_model": report.data_model,
        "data_model_title": data_model.title() if data_model else report.data_model,
        "created": report.created.isoformat() if report.created else None,
        "finished": report.finished.isoformat() if report.finished else None,
        "errors": errors,
        "warnings": [dict(w, message=describe_warning(w)) for w in body.get("warnings") or []],
    }


def _stalled(created: datetime.datetime) -> bool:
    """A check queued long ago and never run: the job queue's worker is not running."""
    waited = datetime.datetime.utcnow() - created
    return waited.total_seconds() > 2 * tk.config.get("ckanext.mel.validation.job_timeout")


def status_label(status: str) -> str:
    return {
        PENDING: tk._("Being checked"),
        VALID: tk._("Valid"),
        INVALID: tk._("Not valid"),
        ERROR: tk._("Could not be checked"),
    }.get(status, status)


def _kinds() -> dict[str, str]:
    """What a Table Schema type or format expects, in words."""
    _ = tk._
    return {
        "integer": _("a whole number"),
        # Only a spreadsheet's number or date cell can fail to be text.
        "string": _("text: format this column as Text in the spreadsheet so that values stay as typed"),
        "number": _("a number, with a point before the decimals"),
        "date": _("a date written YYYY-MM-DD"),
        "datetime": _("a date and time written YYYY-MM-DDThh:mm:ss"),
        "time": _("a time written hh:mm:ss"),
        "year": _("a year written YYYY"),
        "yearmonth": _("a month written YYYY-MM"),
        "boolean": _("true or false"),
        "email": _("an email address"),
        "uri": _("a web address"),
    }


def describe(error: dict[str, Any]) -> str:
    """One error of a report, where it is and what it is, in the reader's language."""
    params = _Defaults({k: _text(v) for k, v in error.items()})
    problem = explain(error)
    if "line" in error and "column" in error:
        return tk._("Line {line}, column {column}: ").format_map(params) + problem
    if "line" in error:
        return tk._("Line {line}: ").format_map(params) + problem
    return problem


def explain(error: dict[str, Any]) -> str:
    """What the error is, without where."""
    params = _Defaults({k: _text(v) for k, v in error.items()})
    message = _message(error.get("code"), error, params)
    return message[:1].upper() + message[1:]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _number(value: Any) -> str:
    from ckan.lib.formatters import localised_number

    return localised_number(value) if isinstance(value, int) else str(value)


def _fetch_reason(error: dict[str, Any]) -> str:
    """Why a link was not fetched (links.py's codes); an HTTP status is shown as it is."""
    _ = tk._
    reasons = {
        "address": _("its address is not on the public internet; the portal only fetches public links"),
        "scheme": _("only http:// and https:// links are fetched"),
        "dns": _("the server {host} was not found"),
        "connection": _("the server could not be reached"),
        "timeout": _("the download took more than {seconds} seconds"),
        "redirects": _("more than {limit} redirects"),
        "tls": _("the secure connection failed"),
        "bad-url": _("the address is not valid"),
    }
    reason = str(error.get("reason", ""))
    return (
        reasons[reason].format_map(_Defaults({k: _text(v) for k, v in error.items()}))
        if reason in reasons
        else reason
    )


def _message(code: Any, error: dict[str, Any], params: _Defaults) -> str:
    params = _Defaults(params, **_shown_values(code, error))
    if code == "constraint-error":
        return _constraint_message(error, params)
    if code == "type-error":
        return _type_message(error, params)
    texts = _texts()
    if code in texts:
        return texts[code].format_map(params)
    return params.get("note") or str(code)


def _shown_values(code: Any, error: dict[str, Any]) -> dict[str, str]:
    """The values a message shows otherwise than as the check gave them: numbers, a link's failure."""
    if code == "fetch-error":
        return {"reason": _fetch_reason(error)}
    if code in ("too-many-columns", "line-too-long", "cell-too-long"):
        return {k: _number(error[k]) for k in ("columns", "expected", "limit") if k in error}
    if code == "too-much-memory" and isinstance(error.get("limit"), int):
        return {"limit": _number(error["limit"] // (1024 * 1024))}
    return {}


def _constraint_message(error: dict[str, Any], params: _Defaults) -> str:
    """A value that breaks one of the model's constraints (Table Schema's names)."""
    _ = tk._
    constraint = error.get("constraint") or ""
    text = {
        "required": _("a value is required."),
        "enum": _("“{value}” is not one of the allowed values: {expected}."),
        "pattern": _("“{value}” is not written as the model expects."),
        "minimum": _("“{value}” is below the minimum, {expected}."),
        "maximum": _("“{value}” is above the maximum, {expected}."),
        "minLength": _("“{value}” is shorter than {expected} characters."),
        "maxLength": _("“{value}” is longer than {expected} characters."),
        "unique": _("“{value}” already appears on another line."),
    }.get(constraint, _("“{value}” does not meet the model's rule {constraint}."))
    message = text.format_map(params)
    if constraint == "pattern" and "example" in error:
        message += " " + _("Example: {example}.").format(**params)
    return message


def _type_message(error: dict[str, Any], params: _Defaults) -> str:
    """A value that is not of the column's type (or format), said in words (_kinds)."""
    kinds = _kinds()
    kind = kinds.get(error.get("format", ""), kinds.get(error.get("type", ""), error.get("type", "")))
    message = tk._("“{value}” is not {kind}.").format_map(_Defaults(params, kind=kind))
    if "example" in error:
        message += " " + tk._("Example: {example}.").format(**params)
    return message


def _texts() -> dict[str, str]:
    """The other errors' messages, by the check's code (tabular.py, checks/, links.py, the limits)."""
    _ = tk._
    return {
        "empty": _("The file is empty."),
        "not-text": _(
            "This is not a CSV file (it looks like a {kind} file). "
            "Save it as CSV from your spreadsheet software."
        ),
        "encoding": _(
            "the file mixes character encodings. Save it again as CSV UTF-8 from your spreadsheet software."
        ),
        "truncated": _("The file seems cut short: its last line is incomplete. Upload it again."),
        "too-large": _("The file is larger than {limit} bytes: it was not checked."),
        "missing-file": _("The uploaded file could not be found on the portal. Upload it again."),
        "fetch-error": _("The file could not be fetched from {url} ({reason}). Check that the link works."),
        "too-many-columns": _(
            "The file has {columns} columns; the model expects {expected}. "
            "Files of more than {limit} columns are not checked."
        ),
        "line-too-long": _(
            "the line is longer than {limit} bytes: the file was not checked. Is it really a CSV file?"
        ),
        "cell-too-long": _(
            "a cell is longer than {limit} characters: the file was not checked. "
            'A quote (") left open makes the rest of a file one cell.'
        ),
        "unterminated-quote": _('a quote (") opened on this line is never closed.'),
        "nul-byte": _(
            "the line holds a NUL character, which no CSV file has. "
            "Save the file again as CSV from your spreadsheet software."
        ),
        "too-much-memory": _(
            "Checking this file needs more memory than the portal gives a check ({limit} MB): "
            "it was not checked."
        ),
        "unreadable": _("The file could not be read as CSV: {note}"),
        "internal": _("The check failed because of an error on the portal. The MEL team has been told."),
        "timeout": _("The check took too long and was stopped."),
        "stalled": _(
            "The check has been waiting for too long. Ask for a new check, or contact the MEL team."
        ),
        "missing-label": _("the column {column} is missing."),
        "extra-label": _("the column “{label}” is not in the model."),
        "incorrect-label": _("the column is named “{label}”; the model expects {column} here."),
        "duplicate-label": _("the column “{label}” appears twice."),
        "blank-label": _("a column has no name."),
        "blank-row": _("the line is empty."),
        "extra-cell": _("the line has more cells than the file has columns."),
        "missing-cell": _("the cell is missing (the line has fewer cells than the file has columns)."),
        "unique-error": _("“{value}” already appears on another line."),
        "primary-key": _("this line's identifier already appears on another line."),
        # The schemas' custom checks (checks/custom.py), worded after Validata's messages.
        "french-siret-value": _(
            "“{value}” is not a valid SIRET number: 14 digits, the last one a check digit (Luhn key)."
        ),
        "french-siren-value": _(
            "“{value}” is not a valid SIREN number: 9 digits, the last one a check digit (Luhn key)."
        ),
        "opening-hours-value": _(
            "“{value}” is not written in the OpenStreetMap opening_hours format. Example: Mo-Fr 08:30-17:30."
        ),
        "missing-unique-column": _(
            "the column {column} is missing. The model says each of its values is unique: "
            "the file cannot be accepted without it."
        ),
        "one-of-required": _("at least one of the columns {columns} must have a value."),
        "one-of-required-columns": _("the columns {columns} are both missing: one of them is required."),
        "unsupported-check": _(
            "The data model asks for a check the portal cannot run ({name}). The MEL team has been told."
        ),
        "spreadsheet-too-large": _("The spreadsheet unpacks to more than {limit} bytes: it was not checked."),
    }


def describe_warning(warning: dict[str, Any]) -> str:
    """A column warning (checks/headers.py): the file stays valid."""
    params = _Defaults({k: _text(v) for k, v in warning.items()})
    texts = {
        "missing-optional-column": tk._(
            "The optional column {column} is missing: add it if you have the data."
        ),
        "extra-column": tk._("The column “{label}” is not in the model: it was not checked."),
        "disordered-columns": tk._(
            "The columns are not in the model's order; they were matched by name. "
            "The model's order: {expected}."
        ),
    }
    text = texts.get(warning.get("code", ""))
    return text.format_map(params) if text else str(warning.get("code"))


class _Defaults(dict):
    """str.format_map with a blank for any missing parameter."""

    def __missing__(self, key: str) -> str:
        return ""

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

import datetime
import hashlib
import json
import logging
import os
import time
from typing import Any

import ckan.plugins.toolkit as tk
import requests
import sqlalchemy as sa
from ckan import model
from ckan.lib import uploader
from ckan.model import types as ckan_types
from ckan.model.base import BaseModel
from rq.timeouts import JobTimeoutException
from sqlalchemy.orm import Mapped

from ckanext.mel import datamodels, tabular
from ckanext.mel.vocabularies import TABULAR_FORMATS, format_of

log = logging.getLogger(__name__)

PENDING, VALID, INVALID, ERROR = "pending", "valid", "invalid", "error"


class ValidationReport(BaseModel):  # type: ignore[valid-type, misc]
    """The last check of one resource against its dataset's data model."""

    __tablename__ = "mel_validation_report"

    resource_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )  # type: ignore[assignment]
    package_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("package.id", ondelete="CASCADE"), nullable=False, index=True
    )  # type: ignore[assignment]
    status: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    data_model: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    fingerprint: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    created: Mapped[datetime.datetime] = sa.Column(sa.DateTime, nullable=False)  # type: ignore[assignment]
    finished: Mapped[datetime.datetime | None] = sa.Column(sa.DateTime)  # type: ignore[assignment]
    report: Mapped[dict[str, Any]] = sa.Column(ckan_types.JsonDictType, nullable=False, default=dict)  # type: ignore[assignment]
    # Whether this report's failure unpublished the dataset (ckanext.mel.validation.block_invalid).
    blocked: Mapped[bool] = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())  # type: ignore[assignment]

    @classmethod
    def get(cls, resource_id: str) -> ValidationReport | None:
        return model.Session.get(cls, resource_id)

    @classmethod
    def for_package(cls, package_id: str) -> list[ValidationReport]:
        return model.Session.query(cls).filter(cls.package_id == package_id).all()


# What is checked, and when


def data_model_for(resource: model.Resource) -> datamodels.DataModel | None:
    """The model a resource is checked against: None for files that are not checked."""
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
        return os.path.getsize(upload_path(resource))
    except OSError:
        return None


def on_resource_changed(resource_id: str, in_request: bool = True, force: bool = False) -> None:
    """Check the resource if its file, link or model changed since its last report.

    `in_request` is false inside a package update that has not committed yet:
    everything is then left to a background job. `force` checks it again anyway.
    """
    resource = model.Resource.get(resource_id)
    if resource is None or resource.state != "active":
        return
    data_model = data_model_for(resource)
    report = ValidationReport.get(resource_id)
    if data_model is None:
        if report is not None:
            model.Session.delete(report)
            if in_request:
                model.repo.commit()
                _apply_to_dataset(resource.package_id)
        return
    wanted = fingerprint(resource, data_model)
    if not force and report is not None and report.fingerprint == wanted and report.status != PENDING:
        return
    size = upload_size(resource) if in_request else None
    if size is not None and size <= tk.config.get("ckanext.mel.validation.sync_max_size"):
        run(resource_id)
        return
    if not force and report is not None and report.fingerprint == wanted:
        return  # already queued
    _store(resource, data_model, wanted, PENDING, {"data_model": data_model.id})
    if in_request:
        model.repo.commit()
    tk.enqueue_job(
        run_job,
        [resource_id, wanted],
        title=f"mel: check resource {resource_id}",
        rq_kwargs={"timeout": tk.config.get("ckanext.mel.validation.job_timeout")},
    )


def on_resource_deleted(package_id: str) -> None:
    """A deleted file no longer counts in the dataset's extent."""
    if ValidationReport.for_package(package_id):
        _apply_to_dataset(package_id)


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


def run(resource_id: str) -> None:
    """Check the resource now, store the report, then refresh the dataset."""
    resource = model.Resource.get(resource_id)
    data_model = data_model_for(resource)
    if data_model is None:
        raise ValueError(f"resource {resource_id} is not checked against a data model")
    wanted = fingerprint(resource, data_model)
    try:
        content, source = _read(resource)
        if isinstance(content, tabular.Report):
            outcome = content
        else:
            coordinates = (data_model.latitude, data_model.longitude) if data_model.has_coordinates else None
            outcome = tabular.check(content, data_model.schema(), coordinates)
    except JobTimeoutException:
        outcome, source = tabular.failure("timeout"), {}
    except Exception:  # a report, whatever happens: never a stuck "pending"
        log.exception("Checking resource %s failed", resource_id)
        outcome, source = tabular.failure("internal"), {}
    body = {
        **outcome.as_dict(),
        **source,
        "data_model": data_model.id,
        "schema_url": data_model.url,
    }
    _store(resource, data_model, wanted, outcome.status, body)
    model.repo.commit()
    _apply_to_dataset(resource.package_id)


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
    return report


def _apply_to_dataset(package_id: str) -> None:
    from ckanext.mel import extent

    try:
        extent.apply_reports(package_id)
    except Exception:  # the report is stored; the dataset is refreshed at the next check
        log.exception("Refreshing dataset %s after a check failed", package_id)
        model.Session.rollback()


# Reading the file, bounded


def upload_path(resource: model.Resource) -> str:
    return uploader.get_resource_uploader({"id": resource.id, "url_type": "upload"}).get_path(resource.id)


def _read(resource: model.Resource) -> tuple[bytes | tabular.Report, dict[str, Any]]:
    limit = tk.config.get("ckanext.mel.validation.max_size")
    if resource.url_type == "upload":
        path = upload_path(resource)
        try:
            size = os.path.getsize(path)
            if size > limit:
                return tabular.failure("too-large", limit=limit), {"source": "upload", "size": size}
            with open(path, "rb") as f:
                return f.read(), {"source": "upload", "size": size}
        except OSError:
            return tabular.failure("missing-file"), {"source": "upload"}
    return _fetch(resource.url, limit)


def _fetch(url: str, limit: int) -> tuple[bytes | tabular.Report, dict[str, Any]]:
    source: dict[str, Any] = {"source": "link"}
    try:
        with requests.get(
            url, stream=True, timeout=tk.config.get("ckanext.mel.validation.fetch_timeout")
        ) as response:
            if response.status_code != 200:
                return tabular.failure("fetch-error", url=url, reason=f"HTTP {response.status_code}"), source
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    return tabular.failure("too-large", limit=limit), source
    except (requests.RequestException, ValueError) as error:
        return tabular.failure("fetch-error", url=url, reason=type(error).__name__), source
    return b"".join(chunks), {**source, "size": size}


# Reports, as the API and the resource page show them


def show(resource_id: str) -> dict[str, Any] | None:
    report = ValidationReport.get(resource_id)
    return dictize(report) if report is not None else None


def dictize(report: ValidationReport) -> dict[str, Any]:
    body = dict(report.report or {})
    errors = [
        dict(error, message=describe(error), problem=explain(error)) for error in body.pop("errors", [])
    ]
    data_model = datamodels.get(report.data_model)
    status = report.status
    if status == PENDING and _stalled(report):
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
    }


def _stalled(report: ValidationReport) -> bool:
    """A check queued long ago and never run: the job queue's worker is not running."""
    waited = datetime.datetime.utcnow() - report.created
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


def _message(code: Any, error: dict[str, Any], params: _Defaults) -> str:
    _ = tk._
    if code == "constraint-error":
        constraint = error.get("constraint")
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
    if code == "type-error":
        kinds = _kinds()
        kind = kinds.get(error.get("format", ""), kinds.get(error.get("type", ""), error.get("type", "")))
        message = _("“{value}” is not {kind}.").format_map(_Defaults(params, kind=kind))
        if "example" in error:
            message += " " + _("Example: {example}.").format(**params)
        return message
    texts = {
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
    }
    if code in texts:
        return texts[code].format_map(params)
    return params.get("note") or str(code)


class _Defaults(dict):
    """str.format_map with a blank for any missing parameter."""

    def __missing__(self, key: str) -> str:
        return ""

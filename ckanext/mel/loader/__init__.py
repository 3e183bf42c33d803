"""The typed loader: valid files into CKAN's DataStore, with their data model's column types.

What happens, and when (validation.py calls `on_checked` after every check):
- a file that becomes valid (upload or link, CSV or spreadsheet) is loaded by a
  background job, with the column types its data model declares; a new file,
  link or model makes a new check, hence a new load;
- a file that becomes invalid has its table taken out of the API at once: the
  API never serves rows that do not follow the model, nor an old version of a
  file that has been replaced. The resource page says so ("removed");
- a file that could not be checked (a link that did not answer) keeps the table
  of its last valid version;
- a file without a data model is not loaded: without a model the portal does not
  know the columns' types, and a table of text would promise an API it cannot keep.
  Only tables this loader made are ever dropped by it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model

from ckanext.mel.loader.state import ERROR, LOADED, LOADING, PENDING, REMOVED, DatastoreLoad

log = logging.getLogger(__name__)

__all__ = ["on_checked", "on_unchecked", "take_out", "show", "dictize", "status_label", "DatastoreLoad"]


def on_checked(resource_id: str) -> Callable[[], None] | None:
    """After a check, in its transaction: the table's next state. Returns what to do once the
    caller has committed it: queue the load of a valid file, or take an invalid one's rows out of
    the API."""
    from ckanext.mel import consolidation, validation
    from ckanext.mel.loader import jobs

    report = validation.ValidationReport.get(resource_id)
    if report is None or report.status == validation.PENDING:
        return None
    if consolidation.is_consolidated_file(resource_id):
        return None  # a metropolitan dataset's CSV: its rows are in the dataset's own table
    state = DatastoreLoad.get(resource_id)
    data_model, fingerprint = report.data_model, report.fingerprint
    if report.status == validation.VALID:
        if state is not None and state.fingerprint == fingerprint and state.status != ERROR:
            return None  # this very file is loaded or being loaded
        DatastoreLoad.put(resource_id, PENDING, data_model, fingerprint, state)

        def queue_load() -> None:
            tk.enqueue_job(
                jobs.load_job,
                [resource_id, fingerprint],
                title=f"mel: load resource {resource_id} into the DataStore",
                rq_kwargs={"timeout": tk.config.get("ckanext.mel.loader.job_timeout")},
            )

        return queue_load
    if report.status == validation.INVALID and state is not None and state.status != REMOVED:

        def remove() -> None:
            take_out(resource_id)
            DatastoreLoad.put(resource_id, REMOVED, data_model, fingerprint)
            model.repo.commit()

        return remove
    return None


def on_unchecked(resource_id: str) -> None:
    """The file is no longer checked against a model (the dataset lost it): no typed table either.

    Called inside the caller's transaction, which may not have committed yet: a job does it.
    """
    from ckanext.mel.loader import jobs

    if DatastoreLoad.get(resource_id) is not None:
        tk.enqueue_job(jobs.unload_job, [resource_id], title=f"mel: unload resource {resource_id}")


def take_out(resource_id: str) -> None:
    from ckanext.mel.loader import previews, tables

    try:
        tables.drop(resource_id)
        previews.remove(resource_id)
    except Exception:  # never fail the check that called us; the next check retries
        log.exception("Taking resource %s out of the DataStore failed", resource_id)
        model.Session.rollback()


def show(resource_id: str) -> dict[str, Any] | None:
    """Where the resource's data stands in the API, with the links a page shows."""
    state = DatastoreLoad.get(resource_id)
    if state is None:
        return None
    return dictize(state)


def dictize(state: DatastoreLoad) -> dict[str, Any]:
    from ckanext.mel import datamodels
    from ckanext.mel.loader import exports, previews

    data_model = datamodels.get(state.data_model)
    result: dict[str, Any] = {
        "resource_id": state.resource_id,
        "status": state.status,
        "status_label": status_label(state.status),
        "rows": state.rows,
        "data_model": state.data_model,
        "created": state.created.isoformat() if state.created else None,
        "finished": state.finished.isoformat() if state.finished else None,
        "error": state.error,
        "in_api": state.status == LOADED,
    }
    if state.status == LOADED:
        resource = model.Resource.get(state.resource_id)
        with_map = bool(data_model and exports.coordinates_of(data_model))
        result["views"] = {
            kind: view["id"]
            for kind, view_type in (("table", previews.TABLE_VIEW), ("map", previews.MAP_VIEW))
            if (view := previews.find(state.resource_id, view_type))
        }
        result["exports"] = exports.available(with_map)
        result["package_id"] = resource.package_id if resource is not None else None
    return result


def status_label(status: str) -> str:
    return {
        PENDING: tk._("Waiting to be loaded into the API"),
        LOADING: tk._("Being loaded into the API"),
        LOADED: tk._("In the API"),
        ERROR: tk._("Could not be loaded into the API"),
        REMOVED: tk._("Taken out of the API: the file is no longer valid"),
    }.get(status, status)

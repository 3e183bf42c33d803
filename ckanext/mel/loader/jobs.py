"""The load job: a valid file's rows into its DataStore table, typed by its data model.

The table's columns come from the model (fields.py). Rows are read by
frictionless with the model's schema, so every cell arrives already typed, and
written with PostgreSQL's COPY through the DataStore's write engine in batches,
all in one transaction: the API serves the previous rows until the new ones are
all there, and never a half-written table. Progress goes to the job's log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from frictionless import Detector, Dialect, Schema, formats
from frictionless.resources import TableResource

from ckanext.mel import storage, tabular, validation
from ckanext.mel.loader import fields, previews, tables
from ckanext.mel.loader.state import ERROR, LOADED, LOADING, DatastoreLoad

log = logging.getLogger(__name__)


class LoadError(Exception):
    """A file that cannot be loaded; its message is shown on the resource page."""


def load_job(resource_id: str, wanted: str) -> None:
    """The background job: load the resource, unless its file changed since it was queued."""
    model.Session.rollback()
    state = DatastoreLoad.get(resource_id)
    report = validation.ValidationReport.get(resource_id)
    if (
        state is None
        or state.fingerprint != wanted
        or report is None
        or report.fingerprint != wanted
        or report.status != validation.VALID
    ):
        log.info("Resource %s changed before its DataStore load; skipped", resource_id)
        return
    load(resource_id)


def unload_job(resource_id: str) -> None:
    """Drop the table of a file that no longer has a data model, once that change is committed."""
    from ckanext.mel import loader

    for _attempt in range(20):
        model.Session.rollback()
        resource = model.Resource.get(resource_id)
        if resource is None or validation.data_model_for(resource) is None:
            break
        time.sleep(0.5)
    else:
        log.info("Resource %s has a data model again; its table stays", resource_id)
        return
    state = DatastoreLoad.get(resource_id)
    if state is None:
        return
    loader.take_out(resource_id)
    model.Session.delete(state)
    model.repo.commit()


def load(resource_id: str) -> DatastoreLoad:
    """Load the resource's file now; the outcome is in its DatastoreLoad."""
    resource = model.Resource.get(resource_id)
    data_model = validation.data_model_for(resource) if resource is not None else None
    if data_model is None:
        raise LoadError(f"resource {resource_id} has no data model")
    report = validation.ValidationReport.get(resource_id)
    fingerprint = report.fingerprint if report is not None else ""
    state = DatastoreLoad.put(resource_id, LOADING, data_model.id, fingerprint)
    state.rows = 0
    model.repo.commit()
    started = time.monotonic()
    schema = data_model.schema()
    coordinates = data_model.coordinates
    table = fields.columns(schema, coordinates)

    def progress(count: int) -> None:
        state.rows = count
        model.repo.commit()
        log.info("Resource %s: %d rows loaded into the DataStore", resource_id, count)

    try:
        content = read(resource)
        rows = typed_rows(content, schema, data_model.sheet_names())
        count = tables.replace(resource_id, table, rows, progress)
    except Exception as error:  # a state, whatever happens: never a stuck "loading"
        model.Session.rollback()
        log.exception("Loading resource %s into the DataStore failed", resource_id)
        tables.drop(resource_id)
        previews.remove(resource_id)
        state = DatastoreLoad.put(resource_id, ERROR, data_model.id, fingerprint)
        state.error = str(error)[:500] if isinstance(error, LoadError) else type(error).__name__
        model.repo.commit()
        return state
    state = DatastoreLoad.put(resource_id, LOADED, data_model.id, fingerprint)
    state.rows = count
    model.repo.commit()
    log.info(
        "Resource %s: %d rows in the DataStore in %.1f s", resource_id, count, time.monotonic() - started
    )
    previews.ensure(resource_id, fields.coordinate_columns(schema, coordinates) is not None)
    return state


def read(resource: model.Resource) -> bytes:
    """The file as its check read it: an upload from the portal's storage, a link under the link policy."""
    max_size = tk.config.get("ckanext.mel.validation.max_size")
    if resource.url_type == "upload":
        try:
            content = storage.read(resource.id, max_size)
        except FileNotFoundError as error:
            raise LoadError(tk._("The file is missing from the portal's storage.")) from error
    else:
        from ckanext.mel import links

        try:
            content = links.fetch(resource.url, validation.fetch_policy()).content
        except links.FetchError as error:
            raise LoadError(
                tk._("The link could not be fetched ({code}).").format(code=error.code)
            ) from error
    if len(content) > max_size:
        raise LoadError(tk._("The file is larger than the portal reads."))
    return content


def types_only(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its constraints: the check judged them; reading only needs the types
    (and frictionless would otherwise keep every value of a unique column in memory)."""
    fields = [{k: v for k, v in spec.items() if k != "constraints"} for spec in schema.get("fields", [])]
    rest = {k: v for k, v in schema.items() if k not in ("fields", "primaryKey", "foreignKeys", "uniqueKeys")}
    return {**rest, "fields": fields}


def typed_rows(
    content: bytes, schema: dict[str, Any], sheet_names: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The file's rows as the model reads them: columns matched by name, cells typed.

    A spreadsheet (XLSX, ODS) is read as its check read it: the sheet named like the
    model, else the first one (checks/spreadsheets.py).
    """
    from ckanext.mel.checks import headers, spreadsheets

    detector = Detector(schema_sync=True)
    schema = types_only(schema)
    kind = spreadsheets.kind_of(content)
    if kind is not None:
        try:
            sheet = spreadsheets.read(content, kind, sheet_names)
        except spreadsheets.SpreadsheetError as error:
            raise LoadError(str(error)) from error
        header = headers.clean_header(sheet.header)
        source = TableResource(
            data=[header, *sheet.rows], schema=Schema.from_descriptor(schema), detector=detector
        )
    else:
        decoded = tabular.decode(content)
        if isinstance(decoded, tabular.Report):
            raise LoadError(validation.explain(decoded.errors[0]))
        text = decoded[0]
        names = [field["name"] for field in schema.get("fields", [])]
        source = TableResource(
            data=text.encode("utf-8"),
            format="csv",
            encoding="utf-8",
            schema=Schema.from_descriptor(schema),
            dialect=Dialect(controls=[formats.CsvControl(delimiter=tabular.detect_delimiter(text, names))]),
            detector=detector,
        )
    with source:
        for row in source.row_stream:
            if not row.valid:
                raise LoadError(
                    tk._("Line {line} no longer follows the data model: check the file again.").format(
                        line=row.row_number
                    )
                )
            yield row.to_dict()

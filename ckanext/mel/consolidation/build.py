"""One consolidation: the communes' valid files of a data model into its metropolitan dataset.

The rows are read from the sources' DataStore tables, which the loader filled typed
from each valid file: one SQL statement takes the union of the tables, keeps the most
recent row of each identifier (the model's primary key, or its one unique column: two
files cannot both hold a national identifier such as a UAI or a serial number) and
streams it, with each row's provenance, into the loader's own `tables.replace` (COPY in
batches, one transaction: the API serves the previous rows until the new ones are all
there). The consolidated CSV is then written from that table with the model's own cell
formats (the loader's CSV export), only the model's fields in order, and uploaded as
the dataset's file, which the portal checks against the model like any other.
"""

from __future__ import annotations

import datetime
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import model
from werkzeug.datastructures import FileStorage

from ckanext.datastore.backend.postgres import get_write_engine, identifier, literal_string
from ckanext.mel import communes, datamodels
from ckanext.mel.consolidation import metadata
from ckanext.mel.consolidation.sources import SourceFile, find
from ckanext.mel.consolidation.state import Consolidation
from ckanext.mel.loader import exports, fields, previews, tables
from ckanext.mel.loader.state import LOADED, DatastoreLoad

log = logging.getLogger(__name__)

# The provenance of each row, after the model's columns (DataStore column, type, title).
PROVENANCE = [
    ("SOURCE_COMMUNE_INSEE", "text", "Code INSEE de la commune source"),
    ("SOURCE_COMMUNE_NOM", "text", "Commune source"),
    ("SOURCE_JEU_DE_DONNEES", "text", "Jeu de données source (nom sur le portail)"),
    ("SOURCE_RESSOURCE", "text", "Fichier source (identifiant de la ressource sur le portail)"),
    ("SOURCE_DATE_FICHIER", "timestamp", "Date du fichier source (UTC)"),
]
# Set on the session while a consolidation writes: its own commits trigger nothing.
SESSION_FLAG = "mel_consolidating"


def model_coordinates(data_model: datamodels.DataModel) -> tuple[str, str] | None:
    return (data_model.latitude, data_model.longitude) if data_model.has_coordinates else None  # type: ignore[return-value]


def model_columns(data_model: datamodels.DataModel) -> list[fields.Column]:
    """The model's columns as the loader types them, read back from a table as they are."""
    return [
        fields.Column(c.id, c.type, c.id, None, c.label, c.notes)
        for c in fields.columns(data_model.schema(), model_coordinates(data_model))
    ]


def table_columns(data_model: datamodels.DataModel) -> list[fields.Column]:
    provenance = [fields.Column(name, kind, name, None, title) for name, kind, title in PROVENANCE]
    return model_columns(data_model) + provenance


def identifier_columns(data_model: datamodels.DataModel) -> list[str]:
    """What identifies a row: the primary key, else the one column whose values are unique."""
    schema = data_model.schema()
    key = schema.get("primaryKey")
    if key:
        return [key] if isinstance(key, str) else list(key)
    unique = [f["name"] for f in schema["fields"] if (f.get("constraints") or {}).get("unique")]
    return unique if len(unique) == 1 else []


def _existing_columns(resource_ids: list[str]) -> dict[str, set[str]]:
    if not resource_ids:
        return {}
    with get_write_engine().connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = ANY(:names)"
            ),
            {"names": resource_ids},
        )
        found: dict[str, set[str]] = {}
        for table_name, column_name in rows:
            found.setdefault(table_name, set()).add(column_name)
    return found


def union_sql(data_model: datamodels.DataModel, sources: list[SourceFile]) -> str | None:
    """The statement giving the consolidated rows, in the sources' order; None without sources."""
    columns = model_columns(data_model)
    present = _existing_columns([s.resource_id for s in sources])
    parts = []
    for position, source in enumerate(sources):
        have = present.get(source.resource_id)
        if not have:
            continue  # its table went away since: the next consolidation will know why
        cells = [
            identifier(c.id) if c.id in have else f"NULL::{c.type} AS {identifier(c.id)}" for c in columns
        ]
        provenance = [
            f"{literal_string(source.insee_code)}::text",
            f"{literal_string(source.commune)}::text",
            f"{literal_string(source.package_name)}::text",
            f"{literal_string(source.resource_id)}::text",
            f"{literal_string(source.file_date)}::timestamp",
        ]
        provenance = [
            f"{value} AS {identifier(name)}"
            for value, (name, _k, _t) in zip(provenance, PROVENANCE, strict=True)
        ]
        parts.append(
            f"SELECT {', '.join(cells + provenance)}, {position} AS mel_source, _id AS mel_row "
            f"FROM {identifier(source.resource_id)}"
        )
    if not parts:
        return None
    names = ", ".join(identifier(c.id) for c in table_columns(data_model))
    union = " UNION ALL ".join(parts)
    keys = [identifier(name) for name in identifier_columns(data_model)]
    if not keys:
        return f"SELECT {names} FROM ({union}) AS rows ORDER BY mel_source, mel_row"
    # The most recent file's row wins; rows without an identifier are all kept.
    ranked = (
        f"SELECT *, ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} "
        f"ORDER BY {identifier('SOURCE_DATE_FICHIER')} DESC, mel_source DESC, mel_row DESC) AS mel_rank "
        f"FROM ({union}) AS rows"
    )
    unkeyed = " OR ".join(f"{key} IS NULL" for key in keys)
    return (
        f"SELECT {names} FROM ({ranked}) AS ranked "
        f"WHERE mel_rank = 1 OR {unkeyed} ORDER BY mel_source, mel_row"
    )


def _stream(statement: str, names: list[str], batch: int = 5000) -> Iterator[dict[str, Any]]:
    connection = get_write_engine().raw_connection()
    try:
        cursor = connection.cursor(name="mel_consolidation")
        cursor.itersize = batch
        cursor.execute(statement)
        for row in cursor:
            yield dict(zip(names, row, strict=True))
        cursor.close()
    finally:
        connection.rollback()
        connection.close()


def _context() -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site_user["name"], "ignore_auth": True}


def consolidate(model_id: str, progress: Callable[[int, int], None] | None = None) -> Consolidation | None:
    """Rebuild the model's metropolitan dataset now; None when no commune contributes yet.

    `progress(rows_done, rows_expected)` is called after each COPY batch.
    """
    data_model = datamodels.get(model_id)
    if data_model is None:
        raise tk.ObjectNotFound(tk._("Unknown data model: {model}.").format(model=model_id))
    mel = model.Group.by_name(communes.mel_organization_name())
    if mel is None:
        raise tk.ObjectNotFound(
            tk._("No organisation {name}: load the communes first (ckan mel communes load).").format(
                name=communes.mel_organization_name()
            )
        )
    model.Session.info[SESSION_FLAG] = True
    try:
        return _consolidate(data_model, mel, progress)
    finally:
        model.Session.info.pop(SESSION_FLAG, None)


def _consolidate(
    data_model: datamodels.DataModel, mel: model.Group, progress: Callable[[int, int], None] | None
) -> Consolidation | None:
    started = time.monotonic()
    model.Session.rollback()  # what is committed now, not what this session read before
    sources, invalid = find(data_model)
    state = Consolidation.get(data_model.id)
    package = model.Package.get(state.package_id) if state is not None and state.package_id else None
    if package is not None and package.state != "active":
        package = None
    if state is None:
        state = Consolidation(data_model=data_model.id, rows=0, sources=[], invalid=[], since={})
        model.Session.add(state)
    state.invalid = [s.as_dict() for s in invalid]
    if not sources and package is None:
        # No metropolitan dataset before the first valid public file.
        state.sources, state.rows, state.built = [], 0, datetime.datetime.utcnow()
        model.repo.commit()
        return None
    context = _context()
    since = {k: v for k, v in (state.since or {}).items() if k in {s.organization_id for s in sources}}
    today = datetime.date.today().isoformat()
    for source in sources:
        since.setdefault(source.organization_id, today)
    if package is None:
        dataset = tk.get_action("package_create")(
            dict(context),
            metadata.dataset_fields(data_model, mel, sources, since, name=_free_name(data_model)),
        )
        package = model.Package.get(dataset["id"])
    assert package is not None
    if state.package_id != package.id:
        state.package_id = package.id  # known as metropolitan before its first file is checked
        model.repo.commit()
    table_id = _table_resource(context, package, data_model, state)
    expected = sum(_row_count(s.resource_id) for s in sources)
    statement = union_sql(data_model, sources)
    columns = table_columns(data_model)
    names = [c.id for c in columns]
    rows: Iterator[dict[str, Any]] = iter(()) if statement is None else _stream(statement, names)
    count = tables.replace(table_id, columns, rows, lambda done: progress and progress(done, expected))
    if progress:
        progress(count, expected)
    load = DatastoreLoad.put(table_id, LOADED, data_model.id, "consolidation")
    load.rows = count
    model.repo.commit()
    previews.ensure(table_id, exports.coordinates_of(data_model) is not None)
    per_resource = _rows_per_source(table_id)
    file_id = _upload_file(context, package, data_model, table_id, state)
    state = Consolidation.get(data_model.id) or state
    state.package_id, state.table_resource_id, state.file_resource_id = package.id, table_id, file_id
    state.sources = [{**s.as_dict(), "rows": per_resource.get(s.resource_id, 0)} for s in sources]
    state.invalid = [s.as_dict() for s in invalid]
    state.since, state.rows = since, count
    state.built, state.seconds, state.error = datetime.datetime.utcnow(), time.monotonic() - started, None
    model.repo.commit()
    _refresh_metadata(context, package.id, data_model, mel, sources, since)
    log.info(
        "Data model %s: %d rows from %d files of %d communes in %.1f s",
        data_model.id,
        count,
        len(sources),
        len(since),
        time.monotonic() - started,
    )
    return Consolidation.get(data_model.id)


def _free_name(data_model: datamodels.DataModel) -> str:
    name = metadata.dataset_name(data_model)
    return name if model.Package.get(name) is None else f"{name}-metropole"


def _row_count(resource_id: str) -> int:
    load = DatastoreLoad.get(resource_id)
    return load.rows if load is not None else 0


def _rows_per_source(table_id: str) -> dict[str, int]:
    column = identifier("SOURCE_RESSOURCE")
    with get_write_engine().connect() as connection:
        result = connection.execute(
            sa.text(f"SELECT {column}, count(*) FROM {identifier(table_id)} GROUP BY {column}")
        )
        return {resource_id: count for resource_id, count in result}


def _table_resource(
    context: dict[str, Any], package: model.Package, data_model: datamodels.DataModel, state: Consolidation
) -> str:
    """The DataStore-only resource holding the rows and their provenance, created once."""
    resource = model.Resource.get(state.table_resource_id) if state.table_resource_id else None
    if resource is not None and resource.state == "active" and resource.package_id == package.id:
        return resource.id
    created = tk.get_action("resource_create")(
        dict(context), {"package_id": package.id, **metadata.table_resource_fields(data_model)}
    )
    return created["id"]


def _upload_file(
    context: dict[str, Any],
    package: model.Package,
    data_model: datamodels.DataModel,
    table_id: str,
    state: Consolidation,
) -> str:
    """The consolidated CSV, written from the table: the model's fields only, in its order."""
    columns = [(c.id, c.type) for c in model_columns(data_model)]
    writers = csv_writers(data_model.schema(), columns)
    handle, path = tempfile.mkstemp(prefix="mel-consolidation-", suffix=".csv")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as output:
            for chunk in exports.csv_lines(
                columns, exports._rows(table_id, [name for name, _t in columns]), ",", writers=writers
            ):
                output.write(chunk)
        fields_ = metadata.file_resource_fields(data_model)
        with open(path, "rb") as stream:
            upload = FileStorage(stream, fields_["url"], content_type="text/csv")
            resource = model.Resource.get(state.file_resource_id) if state.file_resource_id else None
            if resource is not None and resource.state == "active" and resource.package_id == package.id:
                result = tk.get_action("resource_patch")(
                    dict(context), {"id": resource.id, "upload": upload, **fields_}
                )
            else:
                result = tk.get_action("resource_create")(
                    dict(context), {"package_id": package.id, "upload": upload, **fields_}
                )
        return result["id"]
    finally:
        os.unlink(path)


# Cells whose plain text (the CSV export's fallback) is already what the model writes.
PLAIN = {"string", "integer", "year"}
PLAIN_DATES = {"date", "time"}


def csv_writers(schema: dict[str, Any], columns: list[tuple[str, str]]) -> list[Any]:
    """The CSV export's cell writers, kept only where the model writes a value its own way
    (booleans as "oui"/"non", date formats, decimal commas…): frictionless's write_cell costs
    more than the rest of a row, and a consolidation writes a million of them."""
    specs = {spec["name"]: spec for spec in schema.get("fields", [])}
    writers = exports.cell_writers(schema, columns)
    for position, (name, _type) in enumerate(columns):
        spec = specs.get(name) or {}
        kind, fmt = spec.get("type", "string"), spec.get("format", "default")
        if kind in PLAIN or (kind in PLAIN_DATES and fmt in ("default", None)):
            writers[position] = None
    return writers


def _refresh_metadata(
    context: dict[str, Any],
    package_id: str,
    data_model: datamodels.DataModel,
    mel: model.Group,
    sources: list[SourceFile],
    since: dict[str, str],
) -> None:
    """The description says which communes contribute and since when: patched when it changes."""
    wanted = metadata.dataset_fields(data_model, mel, sources, since)
    current = tk.get_action("package_show")(dict(context), {"id": package_id})
    changes = {k: v for k, v in wanted.items() if k in ("notes", "title") and current.get(k) != v}
    period = [{"start": p.get("start"), "end": p.get("end")} for p in current.get("temporal_coverage") or []]
    if wanted.get("temporal_coverage") and period != wanted["temporal_coverage"]:
        changes["temporal_coverage"] = wanted["temporal_coverage"]
    if changes:
        changes["modified"] = datetime.date.today().isoformat()
        tk.get_action("package_patch")(dict(context), {"id": package_id, **changes})

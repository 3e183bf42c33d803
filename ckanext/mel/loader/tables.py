"""The DataStore tables themselves: created through the DataStore API, filled with COPY."""

from __future__ import annotations

import datetime
import io
import json
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.datastore.backend import DatastoreBackend
from ckanext.datastore.backend.postgres import get_write_engine, identifier
from ckanext.mel.loader import fields

log = logging.getLogger(__name__)


def _context() -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"ignore_auth": True, "user": site_user["name"]}


def current_fields(resource_id: str) -> list[dict[str, Any]] | None:
    """The table's columns (id and type), or None when the resource has no table."""
    try:
        result = tk.get_action("datastore_search")(_context(), {"resource_id": resource_id, "limit": 0})
    except tk.ObjectNotFound:
        return None
    return [{"id": f["id"], "type": f["type"]} for f in result["fields"] if f["id"] != "_id"]


def replace(
    resource_id: str,
    table: list[fields.Column],
    rows: Iterable[dict[str, Any]],
    progress: Callable[[int], None],
) -> int:
    """Make the resource's table hold exactly these rows; returns how many.

    A table with the same columns is refilled in one transaction (readers see
    the old rows until the commit); otherwise it is created anew first.
    """
    wanted = [{"id": c.id, "type": c.type} for c in table]
    existing = current_fields(resource_id)
    if existing is not None and existing != wanted:
        drop(resource_id)
        existing = None
    if existing is None:
        tk.get_action("datastore_create")(
            _context(),
            {
                "resource_id": resource_id,
                "force": True,
                "fields": [c.as_field() for c in table],
                "records": [],
            },
        )
    batch_size = tk.config.get("ckanext.mel.loader.batch_size")
    columns = ", ".join(identifier(c.id) for c in table)
    copy = f"COPY {identifier(resource_id)} ({columns}) FROM STDIN"
    connection = get_write_engine().raw_connection()
    count = 0
    try:
        cursor = connection.cursor()
        cursor.execute(f"DELETE FROM {identifier(resource_id)}")
        buffer = io.StringIO()
        for row in rows:
            record = fields.values(row, table)
            buffer.write("\t".join(copy_text(record[c.id]) for c in table))
            buffer.write("\n")
            count += 1
            if count % batch_size == 0:
                _flush(cursor, copy, buffer)
                buffer = io.StringIO()
                progress(count)
        _flush(cursor, copy, buffer)
        connection.commit()
        cursor.execute(f"ANALYZE {identifier(resource_id)}")
        connection.commit()
        _clear_stats(resource_id)
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return count


def _clear_stats(resource_id: str) -> None:
    """CKAN 2.12 caches a table's row count (_table_stats): forget it, as the DataStore's own writes do."""
    backend = DatastoreBackend.get_active_backend()
    if hasattr(backend, "clear_table_stats"):
        backend.clear_table_stats(resource_id)


def _flush(cursor: Any, copy: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    cursor.copy_expert(copy, buffer)


def drop(resource_id: str) -> None:
    """Take the resource's table out of the DataStore, if it has one."""
    try:
        tk.get_action("datastore_delete")(_context(), {"resource_id": resource_id, "force": True})
    except tk.ObjectNotFound:
        pass


def copy_text(value: Any) -> str:
    """A value in PostgreSQL COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (datetime.date, datetime.time, Decimal, int, float)):
        text = str(value) if not isinstance(value, (datetime.date, datetime.time)) else value.isoformat()
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

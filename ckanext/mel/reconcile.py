"""The search index repairs itself: Solr made to agree with the database.

CKAN writes a dataset to Solr during the request, before PostgreSQL commits it.
A process killed between the two (kill -9, a crash, a lost database
connection) leaves an index entry for a dataset that does not exist: it 404s
but shows in package_search, package_count and the feeds. The opposite happens
too (committed, never indexed), and an update can leave Solr with a version the
database never kept.

`reconcile` compares the two, id by id and version by version
(metadata_modified), removes the orphans and indexes what is missing or stale.
It runs when the scheduler starts, every quarter of an hour (scheduler.JOBS),
and by hand: `ckan mel search reconcile`.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.lib import search
from ckan.lib.search.common import make_connection

from ckanext.mel import quota

log = logging.getLogger(__name__)

# Solr keeps dates to the millisecond; the database to the microsecond.
_SAME_VERSION = datetime.timedelta(milliseconds=1)
_PAGE = 1000


@dataclass
class Report:
    database: int = 0
    indexed: int = 0
    orphans: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def in_agreement(self) -> bool:
        return not (self.orphans or self.missing or self.stale)

    def as_dict(self) -> dict[str, object]:
        return {
            "database": self.database,
            "indexed": self.indexed,
            "orphans": self.orphans,
            "missing": self.missing,
            "stale": self.stale,
            "failed": self.failed,
            "dry_run": self.dry_run,
        }


def indexed_versions(owners: dict[str, str | None] | None = None) -> dict[str, datetime.datetime | None]:
    """Every dataset of this site in Solr, with the metadata_modified it was indexed
    with; `owners`, if given, receives each one's organisation."""
    connection = make_connection(decode_dates=False)
    filters = [f'+site_id:"{tk.config.get("ckan.site_id")}"', "+entity_type:package"]
    versions: dict[str, datetime.datetime | None] = {}
    cursor = "*"
    while True:
        page = connection.search(
            "*:*",
            fq=filters,
            fl="id,metadata_modified,owner_org",
            sort="index_id asc",  # the schema's uniqueKey, as cursors require
            rows=_PAGE,
            cursorMark=cursor,
        )
        for doc in page.docs:
            versions[doc["id"]] = _parse(doc.get("metadata_modified"))
            if owners is not None:
                owners[doc["id"]] = doc.get("owner_org")
        if not page.nextCursorMark or page.nextCursorMark == cursor:
            return versions
        cursor = page.nextCursorMark


def _kept_in_index(query):
    """The datasets CKAN keeps in the index (deleted ones leave it, by default)."""
    if tk.config.get("ckan.search.remove_deleted_packages"):
        query = query.filter(model.Package.state != "deleted")
    return query


def database_versions() -> dict[str, datetime.datetime | None]:
    return dict(_kept_in_index(model.Session.query(model.Package.id, model.Package.metadata_modified)).all())


def _parse(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=None)
    except ValueError:
        return None


def _stale(in_database: datetime.datetime | None, in_index: datetime.datetime | None) -> bool:
    if in_database is None or in_index is None:
        return in_database != in_index
    return abs(in_database - in_index) >= _SAME_VERSION


def reconcile(dry_run: bool = False) -> Report:
    """Make the index agree with the database; returns what differed (and what failed)."""
    in_database = database_versions()
    # Read the database first: a dataset committed meanwhile is then at worst
    # reported missing and indexed again, never removed.
    owners: dict[str, str | None] = {}
    in_index = indexed_versions(owners)
    model.Session.remove()
    report = Report(database=len(in_database), indexed=len(in_index), dry_run=dry_run)
    report.orphans = sorted(set(in_index) - set(in_database))
    report.missing = sorted(set(in_database) - set(in_index))
    report.stale = sorted(
        id_ for id_ in set(in_database) & set(in_index) if _stale(in_database[id_], in_index[id_])
    )
    if dry_run or report.in_agreement:
        return report
    package_index = search.index_for(model.Package)
    for id_ in report.orphans:
        try:
            if _still_orphan(id_, owners.get(id_)):
                package_index.delete_package({"id": id_})
        except search.SearchIndexError:
            log.exception("could not remove %s from the index", id_)
            report.failed.append(id_)
        finally:
            model.Session.remove()
    for id_ in report.missing + report.stale:
        try:
            search.rebuild(package_id=id_, defer_commit=True)
        except Exception:  # one bad dataset must not keep the others out of search
            log.exception("could not index %s", id_)
            report.failed.append(id_)
        finally:
            model.Session.remove()
    search.commit()
    log.info(
        "search index reconciled: %d orphan(s) removed, %d missing and %d stale indexed, %d failed",
        len(report.orphans),
        len(report.missing),
        len(report.stale),
        len(report.failed),
    )
    return report


def _still_orphan(id_: str, owner_org: str | None) -> bool:
    """Whether this index entry still has no dataset, once any creation in flight is done.

    A commune's dataset is created behind its quota lock (quota.check), held until
    the commit: taking that lock waits for such a creation, whose entry is then
    no orphan. The caller ends the transaction, which releases it.
    """
    if owner_org:
        quota.lock(owner_org)
    query = _kept_in_index(model.Session.query(model.Package.id).filter(model.Package.id == id_))
    return query.first() is None


def reconcile_job() -> None:
    """The recurring job (scheduler.JOBS), also queued when the scheduler starts."""
    report = reconcile()
    if not report.in_agreement:
        log.warning("search index and database disagreed: %s", report.as_dict())

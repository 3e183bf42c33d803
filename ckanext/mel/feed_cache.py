"""The feeds' cache: each rendered feed in Redis, under a key made of everything it is built from.

A catalogue page is the same document as long as its request (format, profiles,
page, filters, URL), its datasets and their `metadata_modified`, the catalogue's
own dates and count, the organisations (publishers and places) and the code
that renders it are the same. The key names all of these, so an entry is never
stale: a change makes a new key, and the old entry expires unread.

Organisations are not indexed with a modification date: every committed change
to an organisation or its extras, by any path (actions, forms, the CLI), bumps a
version in Redis that is part of every key. Data models and licences come from
files the extension ships, so the code's fingerprint covers them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from functools import lru_cache
from typing import Any, cast

import ckan.plugins.toolkit as tk
from ckan import model
from sqlalchemy import event
from sqlalchemy.orm import Session

from ckanext.mel.redis_client import redis

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # bump when what a feed is made of changes
_PENDING = "mel_feed_organisations_changed"
# CKAN 2.12 keeps a group's extras in a column of its own row, 2.11 in a table of their own.
_ORGANISATION_ROWS = tuple(c for c in (model.Group, getattr(model, "GroupExtra", None)) if c is not None)


def enabled() -> bool:
    return tk.config.get("ckanext.mel.feed_cache_seconds") > 0


def _version_key() -> str:
    return f"mel:feeds:{tk.config['ckan.site_id']}:organisations"


def organisations_version() -> int:
    """The number of committed organisation changes so far (the cache keys' version)."""
    return int(redis().get(_version_key()) or 0)


def bump_organisations_version() -> None:
    redis().incr(_version_key())


def key(kind: str, parts: dict[str, Any], version: int) -> str:
    """The key of a document made of `parts` and of the organisations at `version`.

    Read the version before reading anything the document is built from: a change
    committed meanwhile then files the document under the older version, never
    an old document under the newer one.
    """
    payload = json.dumps(
        {
            "kind": kind,
            "parts": parts,
            "organisations": version,
            "code": code_fingerprint(),
            "site": tk.config["ckan.site_url"],
            "locale": tk.config.get("ckan.locale_default"),
        },
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()
    return f"mel:feeds:{tk.config['ckan.site_id']}:{kind}:{digest}"


def get(cache_key: str) -> str | None:
    if not enabled():
        return None
    value = cast("bytes | None", redis().get(cache_key))  # no decode_responses: bytes
    return zlib.decompress(value).decode() if value is not None else None


def put(cache_key: str, text: str) -> None:
    if enabled():
        seconds = tk.config.get("ckanext.mel.feed_cache_seconds")
        redis().set(cache_key, zlib.compress(text.encode(), 1), ex=seconds)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """What the rendering depends on besides the data: versions, profiles, data models, licences."""
    from importlib.metadata import version

    from ckanext.mel import datamodels

    models = [(m.id, m.url, m.label, m.theme) for m in datamodels.all_models()]
    licences = sorted((lic.id, lic.title, lic.url) for lic in model.Package.get_license_register().values())
    settings = [
        tk.config.get(name)
        for name in (
            "ckanext.dcat.rdf.profiles",
            "ckanext.dcat.datasets_per_page",
            "ckanext.dcat.base_uri",
            "ckanext.mel.catalog_description",
            "ckanext.mel.catalog_license",
            "ckan.site_title",
            "ckan.site_description",
        )
    ]
    text = json.dumps(
        [CACHE_FORMAT, version("ckanext-mel"), version("ckanext-dcat"), models, licences, settings],
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# Organisation changes: noted at flush, counted once committed, so that a page
# rendered from the old rows before the commit is never filed under the new version.


def _note_organisation_changes(session: Session, _flush_context: Any) -> None:
    dirty = (obj for obj in session.dirty if session.is_modified(obj, include_collections=False))
    changed = (*session.new, *dirty, *session.deleted)
    if any(isinstance(obj, _ORGANISATION_ROWS) for obj in changed):
        session.info[_PENDING] = True


def _bump_after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        try:
            bump_organisations_version()
        except Exception:  # noqa: BLE001 - the commit is done; a cache must not undo it
            log.exception("could not bump the feeds' organisation version")


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def watch_organisations() -> None:
    if not event.contains(model.Session, "after_flush", _note_organisation_changes):
        event.listen(model.Session, "after_flush", _note_organisation_changes)
        event.listen(model.Session, "after_commit", _bump_after_commit)
        event.listen(model.Session, "after_rollback", _forget_after_rollback)

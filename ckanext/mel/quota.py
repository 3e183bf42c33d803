"""The three-to-five dataset quota of a commune.

`check` is the one place the limit is decided; every path that adds a dataset
to a commune (create, move, restore; API, form, CLI) goes through it. The count
comes from PostgreSQL in the transaction that will insert, behind a
transaction-level advisory lock keyed on the commune, so that concurrent
creations are serialised per commune and none can slip past the limit.
"""

from __future__ import annotations

import re
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import model

from ckanext.mel import communes, history
from ckanext.mel.model import Quota

_package = model.package_table
# What a commune holds (public, private and draft alike; deleted datasets free
# their slot; datasets only, never reuses), and what counts towards its target.
_counted = sa.and_(_package.c.state != "deleted", _package.c.type == "dataset")
_COUNTS = (
    sa.func.count(),
    sa.func.count().filter(sa.and_(_package.c.state == "active", _package.c.private.is_(False))),
)


def minimum() -> int:
    return tk.config.get("ckanext.mel.quota.min")


def maximum(organization_id: str) -> int:
    granted = model.Session.get(Quota, organization_id)
    return _limit(granted.maximum if granted else None)


def _limit(granted: int | None) -> int:
    """A commune's maximum: the one the MEL granted it, or the portal's."""
    return granted if granted is not None else tk.config.get("ckanext.mel.quota.max")


def counts(organization_id: str) -> tuple[int, int]:
    """(datasets counted, public active datasets) of one commune: one indexed query."""
    total, public = model.Session.execute(
        sa.select(*_COUNTS).where(_package.c.owner_org == organization_id, _counted)
    ).one()
    return total, public


def dataset_counts() -> dict[str, tuple[int, int]]:
    """`counts` of every organisation, in one query."""
    rows = model.Session.execute(
        sa.select(_package.c.owner_org, *_COUNTS)
        .where(_counted, _package.c.owner_org.isnot(None))
        .group_by(_package.c.owner_org)
    )
    return {org_id: (total, public) for org_id, total, public in rows}


def granted_maximums() -> dict[str, int]:
    return dict(model.Session.query(Quota.organization_id, Quota.maximum))


def lock(organization_id: str) -> None:
    """Serialise quota decisions for one commune until the transaction ends."""
    model.Session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"mel_quota:{organization_id}"}
    )


def check(organization: model.Group) -> None:
    """Refuse one more dataset for a commune at its maximum. Locks first; then what it holds and
    its granted maximum in one query (a statement of its own: its snapshot sees every creation
    committed before the lock was granted)."""
    if not communes.is_commune(organization):
        return
    lock(organization.id)
    granted = sa.select(Quota.maximum).where(Quota.organization_id == organization.id).scalar_subquery()
    held, granted_maximum = model.Session.execute(
        sa.select(sa.func.count(), granted).where(_package.c.owner_org == organization.id, _counted)
    ).one()
    limit = _limit(granted_maximum)
    if held >= limit:
        raise tk.ValidationError({"owner_org": [quota_reached_message(organization, limit)]})


def quota_reached_message(organization: model.Group, limit: int) -> str:
    return tk._("The commune of {commune} has reached its quota of {maximum} datasets.").format(
        commune=organization.title, of_commune=of_commune(organization.title), maximum=limit
    )


def of_commune(title: str) -> str:
    """French "de Lille", "d'Armentières", "du Maisnil", "des Baisieux"."""
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if title.startswith(article):
            return contracted + title[len(article) :]
    if re.match(r"^[AEIOUYÉÈÊHÂÎÔŒaeiouyéèh]", title):
        return "d'" + title
    return "de " + title


def status(organization: model.Group) -> dict[str, Any]:
    total, public = counts(organization.id)
    limit, target = maximum(organization.id), minimum()
    if total >= limit:
        state = "full"
    elif public < target:
        state = "incomplete"
    else:
        state = "complete"
    return {
        "organization": organization.name,
        "count": total,
        "public_count": public,
        "minimum": target,
        "maximum": limit,
        "remaining": max(limit - total, 0),
        "status": state,
    }


def set_maximum(organization: model.Group, value: int, user_id: str | None, reason: str) -> None:
    granted = model.Session.get(Quota, organization.id)
    previous = maximum(organization.id)
    if granted is None:
        granted = Quota(organization_id=organization.id, maximum=value)
        model.Session.add(granted)
    granted.maximum = value
    history.record(organization.id, "set_quota", user_id, reason, maximum=value, previous_maximum=previous)

"""Reuses: the applications, services, visualisations, APIs and articles built on
the portal's data, as data.gouv.fr and OpenDataSoft list them.

A reuse is a CKAN dataset of the scheming type `reuse` (schemas/reuse.yaml),
owned by the MEL's organisation, whose `producer_*` fields say who made it. Its
review decides its visibility, in one place (`visibility`): a proposal and a
refused reuse are private, a published one is public. Anyone logged in proposes;
`may_review` says who publishes or refuses; each step is kept in `review_log`.

Reuses are never datasets of the catalogue: the quota counts only the type
`dataset` (quota.py), searches leave reuses out unless they ask for them by
type (`search_filter`), so the DCAT feeds and the organisations' pages never
show one, and they are owned by the MEL, never by a commune, so the enrolment
rule does not apply to them.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import authz, model

from ckanext.mel import communes, dataset_names

TYPE = "reuse"
PROPOSED, PUBLISHED, REFUSED = "proposed", "published", "refused"
STATUSES = (PROPOSED, PUBLISHED, REFUSED)
# Indexed (Solr's multi-valued vocab_* fields): the datasets a reuse uses and
# the organisations (communes or the MEL) whose data they are.
DATASETS_FIELD = "vocab_mel_reuse_datasets"
ORGANIZATIONS_FIELD = "vocab_mel_reuse_organizations"
# A search that names the reuse type, other than to leave it out.
_ASKS_FOR_REUSES = re.compile(r'(?<![-!\w])(?:\+)?dataset_type:\(?"?reuse\b')


def reuse_types() -> list[tuple[str, str]]:
    return [
        ("application", tk._("Application")),
        ("service", tk._("Service")),
        ("visualisation", tk._("Visualisation")),
        ("api", tk._("API")),
        ("article", tk._("Article")),
    ]


def producer_kinds() -> list[tuple[str, str]]:
    return [
        ("company", tk._("A company")),
        ("association", tk._("An association")),
        ("person", tk._("A person")),
        ("commune", tk._("A commune")),
    ]


def status_label(status: str | None) -> str:
    return {
        PROPOSED: tk._("Awaiting review"),
        PUBLISHED: tk._("Published"),
        REFUSED: tk._("Refused"),
    }.get(status or "", status or "")


def is_reuse(package: model.Package | dict[str, Any] | None) -> bool:
    if package is None:
        return False
    kind = package.get("type") if isinstance(package, dict) else package.type
    return kind == TYPE


def get(id_or_name: str | None) -> model.Package | None:
    """An active reuse, or None for anything else (a dataset, a deleted reuse)."""
    package = model.Package.get(id_or_name) if id_or_name else None
    if package is None or package.state != "active" or not is_reuse(package):
        return None
    return package


def stored(package: model.Package, field: str) -> Any:
    """A scheming field of the reuse as stored (an extra), lists decoded."""
    value = package.extras.get(field)
    if field in ("reuse_datasets", "review_log"):
        try:
            return json.loads(value) if value else []
        except ValueError:
            return []
    return value


def dataset_ids(package: model.Package) -> list[str]:
    return [str(value) for value in stored(package, "reuse_datasets") if value]


def used_datasets(package: model.Package) -> list[model.Package]:
    """The datasets the reuse uses that still exist and are public, in its order."""
    found = []
    for dataset_id in dataset_ids(package):
        dataset = model.Package.get(dataset_id)
        if dataset is not None and dataset.state == "active" and not dataset.private:
            found.append(dataset)
    return found


def organizations_of(package: model.Package) -> list[str]:
    """The names of the organisations whose data the reuse uses, and its producing commune."""
    names = set()
    for dataset in used_datasets(package):
        organization = model.Group.get(dataset.owner_org) if dataset.owner_org else None
        if organization is not None:
            names.add(organization.name)
    producer = stored(package, "producer_commune")
    if producer:
        names.add(producer)
    return sorted(names)


# Review


def may_review(user_name: str | None, package: model.Package) -> bool:
    """MEL staff review every reuse; a commune's admins those that use only their communes' data."""
    if not user_name:
        return False
    if communes.is_mel_staff(user_name):
        return True
    owners = set()
    for dataset in used_datasets(package):
        organization = model.Group.get(dataset.owner_org) if dataset.owner_org else None
        if organization is None or not communes.is_commune(organization):
            return False
        owners.add(organization.name)
    return bool(owners) and all(
        authz.users_role_for_group_or_org(name, user_name) == "admin" for name in owners
    )


def is_proposer(user_name: str | None, package: model.Package) -> bool:
    user = model.User.get(user_name) if user_name else None
    return user is not None and package.creator_user_id == user.id


def log_entry(action: str, user_name: str | None, reason: str = "") -> dict[str, str]:
    entry = {
        "action": action,
        "user": user_name or "",
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if reason:
        entry["reason"] = reason
    return entry


def pending_count(user_id: str) -> int:
    """The user's proposals still awaiting review."""
    query = model.Session.query(model.Package).filter(
        model.Package.type == TYPE,
        model.Package.state == "active",
        model.Package.creator_user_id == user_id,
        model.Package.private.is_(True),
    )
    return sum(1 for package in query if stored(package, "review_status") == PROPOSED)


def proposals_of(user_id: str) -> list[model.Package]:
    return (
        model.Session.query(model.Package)
        .filter(
            model.Package.type == TYPE,
            model.Package.state == "active",
            model.Package.creator_user_id == user_id,
        )
        .order_by(model.Package.metadata_created.desc())
        .all()
    )


def unique_name(title: str) -> str:
    return dataset_names.unique_name(communes.slugify(title)[:90].strip("-") or "reutilisation")


# Index and search


def before_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """A reuse's lists go to multi-valued fields, so that it is found by dataset and by commune."""
    if pkg_dict.get("type") != TYPE:
        return pkg_dict
    package = model.Package.get(pkg_dict["id"])
    for field in ("reuse_datasets", "review_log"):
        pkg_dict.pop(field, None)
    if package is not None:
        pkg_dict[DATASETS_FIELD] = dataset_ids(package)
        pkg_dict[ORGANIZATIONS_FIELD] = organizations_of(package)
    return pkg_dict


def search_filter(search_params: dict[str, Any]) -> dict[str, Any]:
    """Reuses are not datasets: a search gets them only when it asks for their type."""
    asked = " ".join(
        [str(search_params.get("q") or ""), str(search_params.get("fq") or "")]
        + [str(fq) for fq in search_params.get("fq_list") or []]
    )
    if not _ASKS_FOR_REUSES.search(asked):
        search_params["fq_list"] = [*(search_params.get("fq_list") or []), f"-dataset_type:{TYPE}"]
    return search_params


def published_query(**filters: str | None) -> str:
    """The `fq` of the published reuses, narrowed by type, commune or dataset."""
    fq = [f"+dataset_type:{TYPE}", "+capacity:public"]
    if reuse_type := filters.get("reuse_type"):
        fq.append(f'+reuse_type:"{_escape(reuse_type)}"')
    if organization := filters.get("organization"):
        fq.append(f'+{ORGANIZATIONS_FIELD}:"{_escape(organization)}"')
    if dataset := filters.get("dataset"):
        fq.append(f'+{DATASETS_FIELD}:"{_escape(dataset)}"')
    return " ".join(fq)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def counts_by_organization() -> dict[str, int]:
    """Published reuses per organisation name, in one search."""
    result = tk.get_action("package_search")(
        {"ignore_auth": True},
        {
            "fq": published_query(),
            "rows": 0,
            "facet": "true",
            "facet.field": [ORGANIZATIONS_FIELD],
            "facet.limit": -1,
            "facet.mincount": 1,
        },
    )
    facet = result.get("facets", {}).get(ORGANIZATIONS_FIELD, {})
    return {name: int(count) for name, count in facet.items()}

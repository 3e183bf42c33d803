"""The reuses' actions: propose, show, list, publish, refuse.

They wrap CKAN's package actions: `mel_reuse_propose` creates a dataset of type
`reuse` and the review actions patch it, each after its own auth function, with
the context flag that lets the schema take a new review status.
"""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.types import Context, DataDict

from ckanext.mel import reuses

# What a proposer fills in; the rest (owner, review, visibility) is the portal's.
PROPOSAL_FIELDS = (
    "title",
    "name",
    "notes",
    "reuse_type",
    "producer_kind",
    "producer_name",
    "producer_commune",
    "url",
    "image_url",
    "reuse_date",
    "reuse_datasets",
)
MAX_REASON = 2000
MAX_ROWS = 100


def _reuse_or_404(data_dict: DataDict) -> model.Package:
    package = reuses.get(tk.get_or_bust(data_dict, "id"))
    if package is None:
        raise tk.ObjectNotFound(tk._("Reuse not found"))
    return package


def _review_context(context: Context) -> Context:
    return {**context, "ignore_auth": True, "mel_reuse_review": True}  # type: ignore[typeddict-item]


def mel_reuse_propose(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Propose a reuse; it stays private until MEL staff (or its communes' admins) publish it."""
    tk.check_access("mel_reuse_propose", context, data_dict)
    user = model.User.get(context.get("user") or "")
    limit = tk.config.get("ckanext.mel.reuses.max_pending")
    if user is not None and reuses.pending_count(user.id) >= limit:
        message = tk._("You already have {count} proposals awaiting review: wait for their review.")
        raise tk.ValidationError({"title": [message.format(count=limit)]})
    fields = {key: data_dict[key] for key in PROPOSAL_FIELDS if key in data_dict}
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip():
        raise tk.ValidationError({"title": [tk._("Missing value")]})
    if not fields.get("name"):
        fields["name"] = reuses.unique_name(title)
    fields.update(
        type=reuses.TYPE,
        review_status=reuses.PROPOSED,
        # As JSON text: CKAN 2.11 would flatten a list of dicts into unexpected keys.
        review_log=json.dumps([reuses.log_entry("proposed", user.name if user else None)]),
    )
    return tk.get_action("package_create")(_review_context(context), fields)


@tk.side_effect_free
def mel_reuse_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A reuse with the datasets it uses (name, title, organisation), for whoever may see it."""
    package = _reuse_or_404(data_dict)
    tk.check_access("mel_reuse_show", context, {"id": package.id})
    shown = tk.get_action("package_show")({**context, "ignore_auth": True}, {"id": package.id})
    shown["datasets"] = [_dataset_summary(dataset) for dataset in reuses.used_datasets(package)]
    shown["review_status_label"] = reuses.status_label(shown.get("review_status"))
    shown["review_log"] = reuses.stored(package, "review_log")
    return shown


def _dataset_summary(dataset: model.Package) -> dict[str, Any]:
    organization = model.Group.get(dataset.owner_org) if dataset.owner_org else None
    return {
        "id": dataset.id,
        "name": dataset.name,
        "title": dataset.title,
        "organization": organization.name if organization else None,
        "organization_title": organization.title if organization else None,
    }


@tk.side_effect_free
def mel_reuse_list(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Published reuses, newest first, by type, commune (or the MEL) or dataset, with facets.

    `status=proposed` (or `refused`) lists instead the reuses awaiting (or refused at)
    review that the user may review.
    """
    tk.check_access("mel_reuse_list", context, data_dict)
    try:
        rows = min(max(int(data_dict.get("rows", 20)), 0), MAX_ROWS)
        start = max(int(data_dict.get("start", 0)), 0)
    except (TypeError, ValueError):
        raise tk.ValidationError({"rows": [tk._("Give whole numbers for rows and start.")]}) from None
    status = data_dict.get("status") or reuses.PUBLISHED
    if status not in reuses.STATUSES:
        raise tk.ValidationError({"status": [tk._("Unknown review status.")]})
    if status != reuses.PUBLISHED:
        return _under_review(context, status, rows, start)

    filters = {
        "reuse_type": data_dict.get("type"),
        "organization": data_dict.get("commune"),
        "dataset": _dataset_id(data_dict.get("dataset")),
    }
    result = tk.get_action("package_search")(
        {"ignore_auth": True},
        {
            "fq": reuses.published_query(**filters),
            "rows": rows,
            "start": start,
            "sort": "metadata_created desc",
            "facet": "true",
            "facet.field": ["reuse_type", reuses.ORGANIZATIONS_FIELD],
            "facet.limit": -1,
            "facet.mincount": 1,
        },
    )
    facets = result.get("facets", {})
    return {
        "count": result["count"],
        "results": result["results"],
        "facets": {
            "type": facets.get("reuse_type", {}),
            "commune": facets.get(reuses.ORGANIZATIONS_FIELD, {}),
        },
    }


def _dataset_id(ref: Any) -> str | None:
    if not ref:
        return None
    dataset = model.Package.get(str(ref))
    return dataset.id if dataset is not None else str(ref)


def _under_review(context: Context, status: str, rows: int, start: int) -> dict[str, Any]:
    user_name = context.get("user")
    query = (
        model.Session.query(model.Package)
        .filter(model.Package.type == reuses.TYPE, model.Package.state == "active")
        .order_by(model.Package.metadata_created.desc())
    )
    found = [
        package
        for package in query
        if reuses.stored(package, "review_status") == status and reuses.may_review(user_name, package)
    ]
    show = tk.get_action("package_show")
    return {
        "count": len(found),
        "results": [show({"ignore_auth": True}, {"id": p.id}) for p in found[start : start + rows]],
        "facets": {},
    }


def _review(context: Context, package: model.Package, status: str, reason: str = "") -> dict[str, Any]:
    log = reuses.stored(package, "review_log")
    log.append(reuses.log_entry(status, context.get("user"), reason))
    return tk.get_action("package_patch")(
        _review_context(context),
        {"id": package.id, "review_status": status, "review_log": json.dumps(log, ensure_ascii=False)},
    )


def mel_reuse_publish(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Publish a reuse after review: it becomes public and shows on its datasets' pages."""
    package = _reuse_or_404(data_dict)
    tk.check_access("mel_reuse_publish", context, {"id": package.id})
    if not reuses.used_datasets(package):
        message = tk._("None of the reuse's datasets is public any more: it cannot be published.")
        raise tk.ValidationError({"reuse_datasets": [message]})
    return _review(context, package, reuses.PUBLISHED)


def mel_reuse_refuse(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Refuse a proposal (or withdraw a published reuse), saying why; the proposer sees the reason."""
    package = _reuse_or_404(data_dict)
    tk.check_access("mel_reuse_refuse", context, {"id": package.id})
    reason = data_dict.get("reason")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise tk.ValidationError(
            {"reason": [tk._("Say why the reuse is refused: the proposer will read it.")]}
        )
    if len(reason) > MAX_REASON:
        raise tk.ValidationError({"reason": [tk._("At most {count} characters.").format(count=MAX_REASON)]})
    return _review(context, package, reuses.REFUSED, reason)


@tk.side_effect_free
def mel_reuse_counts(context: Context, data_dict: DataDict) -> dict[str, int]:
    """Published reuses per organisation name (the communes and the MEL), for the console."""
    tk.check_access("mel_reuse_counts", context, data_dict)
    return reuses.counts_by_organization()

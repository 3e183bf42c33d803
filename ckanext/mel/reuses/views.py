"""The reuses' pages: the list with its filters (/reutilisations), the proposal form,
a reuse's page with its datasets, and the reviewers' publish and refuse buttons."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint

from ckanext.mel import communes
from ckanext.mel import reuses as reuse_rules
from ckanext.mel.reuses.action import PROPOSAL_FIELDS

reuses = Blueprint("mel_reuses", __name__, url_prefix="/reutilisations")

PAGE_SIZE = 20


def _context() -> dict[str, Any]:
    return {"user": tk.current_user.name if tk.current_user.is_authenticated else None}


def _user_name() -> str | None:
    return tk.current_user.name if tk.current_user.is_authenticated else None


def _page() -> int:
    try:
        return max(int(tk.request.args.get("page", 1)), 1)
    except ValueError:
        return 1


@reuses.route("")
@reuses.route("/")
def index():
    """Every published reuse, newest first, filtered by type and by commune."""
    args = tk.request.args
    filters = {"type": args.get("type") or None, "commune": args.get("commune") or None}
    if filters["type"] and filters["type"] not in dict(reuse_rules.reuse_types()):
        tk.abort(400, tk._("Unknown reuse type."))
    page = _page()
    result = tk.get_action("mel_reuse_list")(
        _context(),
        {**{k: v for k, v in filters.items() if v}, "rows": PAGE_SIZE, "start": (page - 1) * PAGE_SIZE},
    )
    user = model.User.get(_user_name() or "")
    mine = [_row(p) for p in reuse_rules.proposals_of(user.id)] if user else []
    to_review = tk.get_action("mel_reuse_list")(_context(), {"status": reuse_rules.PROPOSED, "rows": 100})
    communes_facet = sorted(
        (
            (name, (model.Group.get(name).title if model.Group.get(name) else name), count)
            for name, count in result["facets"]["commune"].items()
        ),
        key=lambda item: item[1],
    )
    return tk.render(
        "mel/reuses/index.html",
        {
            "result": result,
            "filters": filters,
            "page": page,
            "pages": max((result["count"] + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "communes_facet": communes_facet,
            "mine": mine,
            "to_review": to_review["results"] if user else [],
        },
    )


def _row(package: model.Package) -> dict[str, Any]:
    status = reuse_rules.stored(package, "review_status")
    log = reuse_rules.stored(package, "review_log")
    refusal = next((e for e in reversed(log) if e.get("action") == reuse_rules.REFUSED), None)
    return {
        "name": package.name,
        "title": package.title,
        "status": status,
        "status_label": reuse_rules.status_label(status),
        "reason": refusal.get("reason") if refusal and status == reuse_rules.REFUSED else None,
    }


def _dataset_choices() -> list[dict[str, Any]]:
    """The public datasets of the catalogue, grouped by organisation, for the form."""
    rows = (
        model.Session.query(model.Package.id, model.Package.name, model.Package.title, model.Group.title)
        .join(model.Group, model.Group.id == model.Package.owner_org)
        .filter(
            model.Package.type == "dataset",
            model.Package.state == "active",
            model.Package.private.is_(False),
        )
        .order_by(model.Group.title, model.Package.title)
        .all()
    )
    groups: dict[str, list[dict[str, str]]] = {}
    for dataset_id, name, title, organization_title in rows:
        groups.setdefault(organization_title, []).append({"id": dataset_id, "name": name, "title": title})
    return [{"organization": title, "datasets": items} for title, items in groups.items()]


def _commune_choices() -> list[tuple[str, str]]:
    query = model.Session.query(model.Group).filter(
        model.Group.is_organization.is_(True), model.Group.state == "active"
    )
    return sorted(((g.name, g.title) for g in query if communes.is_commune(g)), key=lambda item: item[1])


@reuses.route("/proposer", methods=["GET", "POST"])
def propose() -> Any:
    """The proposal form, for anyone logged in."""
    if not tk.current_user.is_authenticated:
        return tk.redirect_to("user.login", came_from=tk.request.full_path)
    data: dict[str, Any] = {"reuse_datasets": tk.request.args.getlist("dataset")}
    errors: dict[str, list[str]] = {}
    if tk.request.method == "POST":
        form = tk.request.form
        data = {key: form.get(key, "") for key in PROPOSAL_FIELDS if key not in ("name", "reuse_datasets")}
        data["reuse_datasets"] = form.getlist("reuse_datasets")
        if not data["reuse_date"]:
            data.pop("reuse_date")
        try:
            created = tk.get_action("mel_reuse_propose")(_context(), dict(data))
        except tk.ValidationError as error:
            errors = error.error_dict  # type: ignore[assignment]
        else:
            tk.h.flash_success(tk._("Thank you: your proposal will be published once reviewed."))
            return tk.redirect_to("mel_reuses.read", id=created["name"])
    return tk.render(
        "mel/reuses/propose.html",
        {
            "data": data,
            "errors": errors,
            "dataset_choices": _dataset_choices(),
            "commune_choices": _commune_choices(),
            "reuse_types": reuse_rules.reuse_types(),
            "producer_kinds": reuse_rules.producer_kinds(),
        },
    )


@reuses.route("/<id>")
def read(id: str):
    try:
        reuse = tk.get_action("mel_reuse_show")(_context(), {"id": id})
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Reuse not found"))
    except tk.NotAuthorized:
        return tk.abort(404, tk._("Reuse not found"))
    package = model.Package.get(reuse["id"])
    user_name = _user_name()
    may_review = reuse_rules.may_review(user_name, package)
    return tk.render(
        "mel/reuses/read.html",
        {
            "reuse": reuse,
            "may_review": may_review,
            "show_log": may_review or reuse_rules.is_proposer(user_name, package),
            "may_edit": tk.h.check_access("package_update", {"id": reuse["id"]}),
        },
    )


def _review(id: str, action: str, data: dict[str, Any], done: str):
    try:
        tk.get_action(action)(_context(), {"id": id, **data})
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Reuse not found"))
    except tk.NotAuthorized as error:
        return tk.abort(403, str(error) or tk._("Not authorized"))
    except tk.ValidationError as error:
        messages = [
            m
            for values in error.error_dict.values()
            for m in (values if isinstance(values, list) else [values])
        ]
        tk.h.flash_error(" ".join(str(m) for m in messages))
    else:
        tk.h.flash_success(done)
    return tk.redirect_to("mel_reuses.read", id=id)


@reuses.route("/<id>/publier", methods=["POST"])
def publish(id: str):
    return _review(id, "mel_reuse_publish", {}, tk._("The reuse is published."))


@reuses.route("/<id>/refuser", methods=["POST"])
def refuse(id: str):
    reason = tk.request.form.get("reason", "")
    return _review(id, "mel_reuse_refuse", {"reason": reason}, tk._("The reuse is refused."))

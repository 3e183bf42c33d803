"""Checked before the dataset and resource forms: whether the agent's commune can
add a dataset (its quota) or change one (its enrolment) now.

Without this, a full or read-only commune's agent learned it only after filling
the whole form, from CKAN's English 403 page, the typed text lost. Here the
form's request itself gets a French page that says why and what to do; the
rules stay those of quota.py and enrolment.py (the actions and auth functions
still enforce them on every path).
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import authz, model
from flask import make_response

from ckanext.mel import communes, enrolment, quota

# The forms that add a dataset (ckanext-dcat serves /dataset/new when content
# negotiation is on) and those that change one.
NEW_DATASET = frozenset({"dataset.new", "dcat.new"})
CHANGE_DATASET = frozenset(
    {"dataset.edit", "dataset.delete", "dataset.resources"}
    | {f"{bp}.{view}" for bp in ("resource", "dataset_resource") for view in ("new", "edit", "delete")}
)


def before_form() -> Any:
    """A before_app_request hook: the refusal page instead of a form that would be refused."""
    endpoint = tk.request.endpoint or ""
    if endpoint not in NEW_DATASET and endpoint not in CHANGE_DATASET:
        return None
    user = tk.current_user.name if tk.current_user.is_authenticated else None
    if user is None or authz.is_sysadmin(user):
        return None  # CKAN asks visitors to log in; sysadmins are never refused
    if endpoint in NEW_DATASET:
        refused = [(o, _new_refusal(o, user)) for o in _target_organizations(user)]
        reasons = [reason for _o, reason in refused if reason]
        if refused and len(reasons) == len(refused):
            return _refusal_page(refused[0][0], reasons[0])
        return None
    package = _package()
    if package is None or not package.owner_org:
        return None
    organization = model.Group.get(package.owner_org)
    reason = _change_refusal(organization, user)
    return _refusal_page(organization, reason) if reason else None


def _target_organizations(user: str) -> list[model.Group]:
    """The organisation the form is for: the one the URL or the form names, else those
    the user may add datasets to."""
    chosen = tk.request.args.get("group") or tk.request.form.get("owner_org")
    if chosen:
        organization = model.Group.get(chosen)
        return [organization] if organization is not None and organization.is_organization else []
    rows = tk.get_action("organization_list_for_user")(
        {"user": user, "ignore_auth": True}, {"permission": "create_dataset"}
    )
    found = [model.Group.get(row["id"]) for row in rows]
    return [organization for organization in found if organization is not None]


def _package() -> model.Package | None:
    args = tk.request.view_args or {}
    ref = args.get("id")
    return model.Package.get(ref) if ref else None


def _new_refusal(organization: model.Group, user: str) -> dict[str, Any] | None:
    """Why no dataset can be added to this organisation now, or None."""
    if not communes.is_commune(organization):
        return None
    changing = _change_refusal(organization, user)
    if changing:
        return changing
    status = quota.status(organization)
    if status["status"] == "full":
        return {"kind": "quota_full", "quota": status}
    return None


def _change_refusal(organization: model.Group | None, user: str) -> dict[str, Any] | None:
    """Why this commune's datasets cannot be changed now (its enrolment), or None."""
    if organization is None or not communes.is_commune(organization) or communes.is_mel_staff(user):
        return None
    message = enrolment.refusal_message(organization)
    if not message:
        return None
    shown = enrolment.dictize(organization, enrolment.get(organization.id))
    return {"kind": "read_only", "message": message, "enrolment": shown}


def _refusal_page(organization: model.Group, reason: dict[str, Any]) -> Any:
    from ckanext.mel import my_commune

    extra: dict[str, Any] = {"organization": organization, "reason": reason}
    if reason["kind"] == "quota_full":
        context = {"user": tk.current_user.name}
        extra["datasets"] = my_commune.datasets(organization, context)
    body = tk.render("mel/cannot_publish.html", extra)
    return make_response(body, 403)

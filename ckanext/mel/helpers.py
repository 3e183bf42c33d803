"""Template helpers (mel_*)."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import authz, model
from flask import has_request_context

from ckanext.mel import communes, enrolment, quota


def mel_commune_status(organization_id: str | None) -> dict[str, Any] | None:
    """Enrolment, quota and, when the commune may not write, why: None for non-communes.

    Computed once per request and commune: a page asks for it from several blocks.
    """
    cache = tk.g.setdefault("mel_commune_status", {}) if has_request_context() else {}
    if organization_id not in cache:
        cache[organization_id] = _commune_status(organization_id)
    return cache[organization_id]


def _commune_status(organization_id: str | None) -> dict[str, Any] | None:
    organization = model.Group.get(organization_id) if organization_id else None
    if not communes.is_commune(organization):
        return None
    status = enrolment.dictize(organization, enrolment.get(organization.id))
    status["quota"] = quota.status(organization)
    status["refusal"] = enrolment.refusal_message(organization)
    status["obligation"] = communes.obligation_applies(organization.extras.get("population"))
    return status


def mel_is_mel_staff() -> bool:
    return communes.is_mel_staff(tk.current_user.name if tk.current_user.is_authenticated else None)


def mel_long_date(value: str | None) -> str:
    """A date as "7 mai 2018" in the interface's language."""
    return tk.h.render_datetime(value) if value else ""


def mel_is_member(organization_id: str | None) -> bool:
    """Whether the current user has a role in this organisation."""
    if not organization_id or not tk.current_user.is_authenticated:
        return False
    return bool(authz.users_role_for_group_or_org(organization_id, tk.current_user.name))


def mel_my_communes() -> list[dict[str, str]]:
    """The communes the current user works for, for the header's "My commune" link."""
    from ckanext.mel import my_commune

    if not tk.current_user.is_authenticated:
        return []
    mine = my_commune.communes_of(tk.current_user.name)
    return [{"name": organization.name, "title": organization.title} for organization in mine]


def mel_contact_email() -> str:
    return tk.config.get("ckanext.mel.contact_email")


def mel_quota_minimum() -> int:
    return quota.minimum()


def mel_enrolment_statuses() -> list[tuple[str, str]]:
    return [(status.value, enrolment.status_label(status)) for status in enrolment.Status]


def mel_history_label(entry: dict[str, Any]) -> str:
    action = entry["action"]
    if action in ("enrol", "re_enrol"):
        text = (
            tk._("Enrolled from {start} to {end}")
            if action == "enrol"
            else tk._("Enrolled again from {start} to {end}")
        )
        return text.format(start=entry.get("start_date"), end=entry.get("end_date"))
    if action == "extend":
        return tk._("Extended to {end}").format(end=entry.get("end_date"))
    if action == "end":
        return tk._("Ended on {day}").format(day=entry.get("ended_on"))
    if action == "make_permanent":
        return tk._("Made permanent")
    if action == "set_quota":
        return tk._("Maximum set to {maximum} datasets").format(maximum=entry.get("maximum"))
    if action == "notify":
        return tk._("Notified ({kind}): {recipients}").format(
            kind=entry.get("kind"), recipients=", ".join(entry.get("recipients", []))
        )
    return action


# Data models and resource validation


def mel_data_model_choices(field: dict[str, Any]) -> list[dict[str, Any]]:
    """The data models, for the dataset form's select (scheming choices_helper)."""
    from ckanext.mel import datamodels

    return [{"value": m.id, "label": m.label} for m in datamodels.all_models()]


def mel_resource_format_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    from ckanext.mel.vocabularies import FORMATS

    return [{"value": f.name, "label": f.name} for f in FORMATS]


def mel_resource_license_choices(field: dict[str, Any]) -> list[dict[str, str]]:
    from ckanext.mel.vocabularies import licenses

    return [{"value": lic["url"], "label": lic["title"]} for lic in licenses()]


def mel_data_model(model_id: str | None) -> dict[str, Any] | None:
    from ckanext.mel import datamodels

    data_model = datamodels.get(model_id)
    if data_model is None:
        return None
    return {"id": data_model.id, "title": data_model.title(), "url": data_model.url}


def mel_validation_report(resource_id: str) -> dict[str, Any] | None:
    """The resource's validation report, its messages in the interface's language."""
    from ckanext.mel import validation

    return validation.show(resource_id)


def mel_dataset_quality(pkg_dict: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's metadata quality score, for its commune's agents and those who can
    edit it (an expired commune's agents still see it); None for others."""
    from ckanext.mel import quality

    if not (
        mel_is_member(pkg_dict.get("owner_org"))
        or tk.h.check_access("package_update", {"id": pkg_dict["id"]})
    ):
        return None
    return quality.dataset_quality(pkg_dict)

"""Template helpers (mel_*)."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import authz, model

from ckanext.mel import communes, enrolment, quota


def mel_commune_status(organization_id: str | None) -> dict[str, Any] | None:
    """Enrolment, quota and, when the commune may not write, why: None for non-communes."""
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


def mel_quota_minimum() -> int:
    return quota.minimum()


def mel_enrolment_statuses() -> list[tuple[str, str]]:
    return [(status.value, enrolment.status_label(status)) for status in enrolment.Status]


def mel_history_label(entry: dict[str, Any]) -> str:
    action = entry["action"]
    if action in ("enrol", "re_enrol"):
        text = tk._("Enrolled from {start} to {end}") if action == "enrol" else tk._("Enrolled again from {start} to {end}")
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


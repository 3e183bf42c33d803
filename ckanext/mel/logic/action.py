"""The mel_* API actions. Each checks access first, then validates, then acts."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.types import Action, Context, DataDict

from ckanext.mel import communes, enrolment, history, notifications, quota
from ckanext.mel.logic import schema


def _validate(data_dict: DataDict, schema_: dict[str, Any], context: Context) -> dict[str, Any]:
    data, errors = tk.navl_validate(data_dict, schema_, context)
    if errors:
        raise tk.ValidationError(errors)
    return data


def _user_id(context: Context) -> str | None:
    user = model.User.get(context.get("user") or "")
    return user.id if user else None


def _changed(context: Context, organization_id: str) -> dict[str, Any]:
    if not context.get("defer_commit"):
        model.repo.commit()
    organization = model.Group.get(organization_id)
    return enrolment.dictize(organization, enrolment.get(organization_id))


# Enrolment


def mel_enrolment_create(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Enrol a commune (or enrol it again after its period ended).

    :param organization: the commune's id, name or INSEE code
    :param start_date: first day, ISO 8601 (default: today)
    :param end_date: last day (default: start plus ``ckanext.mel.enrolment.months``)
    :param reason: why, kept in the history
    """
    tk.check_access("mel_enrolment_create", context, data_dict)
    data = _validate(data_dict, schema.enrolment_create_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.enrol(
        organization,
        _user_id(context),
        data.get("reason", ""),
        start=data.get("start_date"),
        end=data.get("end_date"),
    )
    return _changed(context, organization.id)


def mel_enrolment_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A commune's enrolment and status; with ``include_history``, every change."""
    tk.check_access("mel_enrolment_show", context, data_dict)
    data = _validate(data_dict, schema.enrolment_show_schema(), context)
    organization = model.Group.get(data["organization"])
    result = enrolment.dictize(organization, enrolment.get(organization.id))
    if data.get("include_history"):
        result["history"] = [history.dictize(e) for e in history.entries(organization.id)]
    return result


def mel_enrolment_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """Every commune with its enrolment, dataset count and legal obligation.

    :param status: only the communes in this status (not_enrolled, scheduled, active,
        expiring_soon, expired, ended_early, permanent)
    """
    tk.check_access("mel_enrolment_list", context, data_dict)
    data = _validate(data_dict, schema.enrolment_list_schema(), context)
    organizations = (
        model.Session.query(model.Group)
        .filter(model.Group.is_organization.is_(True), model.Group.state == "active")
        .order_by(model.Group.title)
        .all()
    )
    enrolments = {e.organization_id: e for e in model.Session.query(enrolment.Enrolment)}
    counts = quota.dataset_counts()
    granted = quota.granted_maximums()
    default_maximum = tk.config.get("ckanext.mel.quota.max")
    rows = []
    for organization in organizations:
        if not communes.is_commune(organization):
            continue
        row = enrolment.dictize(organization, enrolments.get(organization.id))
        if data.get("status") and row["status"] != data["status"]:
            continue
        population = organization.extras.get("population")
        datasets, public = counts.get(organization.id, (0, 0))
        row.update(
            insee_code=organization.extras.get("insee_code"),
            population=int(population) if population else None,
            obligation=communes.obligation_applies(population),
            dataset_count=datasets,
            public_dataset_count=public,
            quota_minimum=quota.minimum(),
            quota_maximum=granted.get(organization.id, default_maximum),
        )
        rows.append(row)
    return rows


def mel_enrolment_extend(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Move a commune's end date: by ``months`` or ``until`` a date (ISO 8601)."""
    tk.check_access("mel_enrolment_extend", context, data_dict)
    data = _validate(data_dict, schema.enrolment_extend_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.extend(
        organization,
        _user_id(context),
        data.get("reason", ""),
        months=data.get("months"),
        until=data.get("until"),
    )
    return _changed(context, organization.id)


def mel_enrolment_end(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """End a commune's enrolment today; its datasets become read-only."""
    tk.check_access("mel_enrolment_end", context, data_dict)
    data = _validate(data_dict, schema.enrolment_change_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.end(organization, _user_id(context), data.get("reason", ""))
    return _changed(context, organization.id)


def mel_enrolment_make_permanent(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Turn a commune's enrolment into a lasting membership."""
    tk.check_access("mel_enrolment_make_permanent", context, data_dict)
    data = _validate(data_dict, schema.enrolment_change_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.make_permanent(organization, _user_id(context), data.get("reason", ""))
    return _changed(context, organization.id)


def mel_enrolment_notify(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Email the admins of communes whose period ends in 30 or 7 days or has ended.

    Each notice goes out once per end date: safe to run daily from cron.
    """
    tk.check_access("mel_enrolment_notify", context, data_dict)
    return {"sent": notifications.send_due(_user_id(context))}


# Quota


def mel_quota_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A commune's datasets against its target and its maximum.

    :param organization: the commune's id, name or INSEE code
    :returns: count, public_count, minimum, maximum, remaining and status
        (``incomplete`` below the target, ``complete``, or ``full`` at the maximum)
    """
    tk.check_access("mel_quota_show", context, data_dict)
    data = _validate(data_dict, schema.quota_show_schema(), context)
    return quota.status(model.Group.get(data["organization"]))


def mel_quota_set(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Grant a commune its own maximum (kept in the history with who and why).

    :param organization: the commune's id, name or INSEE code
    :param maximum: the new maximum
    :param reason: why
    """
    tk.check_access("mel_quota_set", context, data_dict)
    data = _validate(data_dict, schema.quota_set_schema(), context)
    organization = model.Group.get(data["organization"])
    quota.set_maximum(organization, data["maximum"], _user_id(context), data.get("reason", ""))
    model.repo.commit()
    return quota.status(organization)


# Core actions that add a dataset to a commune: each passes the quota first.


def _commune(id_or_name: str | None) -> model.Group | None:
    organization = model.Group.get(id_or_name) if id_or_name else None
    return organization if communes.is_commune(organization) else None


@tk.chained_action
def package_create(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    commune = _commune(data_dict.get("owner_org"))
    if commune is not None:
        tk.check_access("package_create", context, data_dict)
        quota.check(commune)
    return next_action(context, data_dict)


@tk.chained_action
def package_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    package = model.Package.get(data_dict.get("id") or data_dict.get("name") or "")
    if package is not None:
        commune = _commune(data_dict.get("owner_org") or package.owner_org)
        moving_in = commune is not None and commune.id != package.owner_org
        restoring = package.state == "deleted" and data_dict.get("state") not in (None, "deleted")
        if commune is not None and (moving_in or restoring):
            tk.check_access("package_update", context, data_dict)
            quota.check(commune)
    return next_action(context, data_dict)


@tk.chained_action
def package_owner_org_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    package = model.Package.get(data_dict.get("id") or "")
    commune = _commune(data_dict.get("organization_id"))
    if package is not None and commune is not None and commune.id != package.owner_org:
        tk.check_access("package_owner_org_update", context, data_dict)
        quota.check(commune)
    return next_action(context, data_dict)

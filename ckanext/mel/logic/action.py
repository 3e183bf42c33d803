"""The mel_* API actions. Each checks access first, then validates, then acts."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.lib.navl.dictization_functions import DataError
from ckan.types import Action, Context, DataDict
from flask import has_request_context

from ckanext.mel import (
    communes,
    datamodels,
    datasets,
    enrolment,
    history,
    notifications,
    quality,
    quota,
    validation,
)
from ckanext.mel.logic import schema


def _refuse_nul(data_dict: Any, path: str = "") -> None:
    """Refuse NUL characters anywhere in an action's input, keys included.

    PostgreSQL cannot store them, so they would fail the request half-way; this
    runs before anything, the auth functions included, reads the database.
    """
    if isinstance(data_dict, str):
        if "\x00" in data_dict:
            raise tk.ValidationError(
                {path or "input": [tk._("This value contains a NUL character, which is not allowed.")]}
            )
    elif isinstance(data_dict, dict):
        for key, value in data_dict.items():
            _refuse_nul(key, path or str(key))
            _refuse_nul(value, path or str(key))
    elif isinstance(data_dict, (list, tuple)):
        for value in data_dict:
            _refuse_nul(value, path)


def _validate(data_dict: DataDict, schema_: dict[str, Any], context: Context) -> dict[str, Any]:
    try:
        data, errors = tk.navl_validate(data_dict, schema_, context)
    except DataError:
        # CKAN 2.11 refuses a list that mixes objects with other values before any validator
        # runs, and its API answers that with a 500. No mel_* field takes such a list.
        field = next((key for key, value in data_dict.items() if isinstance(value, list)), "input")
        raise tk.ValidationError({field: [tk._("Give a text value.")]}) from None
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
    _refuse_nul(data_dict)
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


@tk.side_effect_free
def mel_enrolment_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A commune's enrolment and status; with ``include_history``, every change."""
    _refuse_nul(data_dict)
    tk.check_access("mel_enrolment_show", context, data_dict)
    data = _validate(data_dict, schema.enrolment_show_schema(), context)
    organization = model.Group.get(data["organization"])
    result = enrolment.dictize(organization, enrolment.get(organization.id))
    if data.get("include_history"):
        # Whom a notice went to (email addresses) is for MEL staff only.
        private = communes.is_mel_staff(context.get("user"))
        result["history"] = [history.dictize(e, private) for e in history.entries(organization.id)]
    return result


@tk.side_effect_free
def mel_enrolment_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """Every commune with its enrolment, dataset count and legal obligation.

    :param status: only the communes in this status (not_enrolled, scheduled, active,
        expiring_soon, expired, ended_early, permanent)
    """
    _refuse_nul(data_dict)
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
    _refuse_nul(data_dict)
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
    _refuse_nul(data_dict)
    tk.check_access("mel_enrolment_end", context, data_dict)
    data = _validate(data_dict, schema.enrolment_change_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.end(organization, _user_id(context), data.get("reason", ""))
    return _changed(context, organization.id)


def mel_enrolment_make_permanent(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Turn a commune's enrolment into a lasting membership."""
    _refuse_nul(data_dict)
    tk.check_access("mel_enrolment_make_permanent", context, data_dict)
    data = _validate(data_dict, schema.enrolment_change_schema(), context)
    organization = model.Group.get(data["organization"])
    enrolment.make_permanent(organization, _user_id(context), data.get("reason", ""))
    return _changed(context, organization.id)


def mel_enrolment_notify(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Email the admins of communes whose period ends in 30 or 7 days or has ended.

    Each notice goes out once per end date and address: safe to run daily from
    cron. What was delivered is recorded; if the mail server refused some
    notices, they are tried again on the next run and this raises a
    ValidationError that says so.

    :returns: ``sent`` (commune, kind, recipients) and ``unreachable``, the
        notices due to a commune with no admin email and no contact
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_enrolment_notify", context, data_dict)
    result = notifications.send_due(_user_id(context))
    if result["failed"]:
        raise tk.ValidationError({"mail": [notifications.failure_message(result)]})
    return {"sent": result["sent"], "unreachable": result["unreachable"]}


# Quota


@tk.side_effect_free
def mel_quota_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A commune's datasets against its target and its maximum.

    :param organization: the commune's id, name or INSEE code
    :returns: count, public_count, minimum, maximum, remaining and status
        (``incomplete`` below the target, ``complete``, or ``full`` at the maximum)
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_quota_show", context, data_dict)
    data = _validate(data_dict, schema.quota_show_schema(), context)
    return quota.status(model.Group.get(data["organization"]))


def mel_quota_set(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Grant a commune its own maximum (kept in the history with who and why).

    :param organization: the commune's id, name or INSEE code
    :param maximum: the new maximum
    :param reason: why
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_quota_set", context, data_dict)
    data = _validate(data_dict, schema.quota_set_schema(), context)
    organization = model.Group.get(data["organization"])
    # Concurrent grants queue (and creations wait for the new maximum).
    quota.lock(organization.id)
    quota.set_maximum(organization, data["maximum"], _user_id(context), data.get("reason", ""))
    model.repo.commit()
    return quota.status(organization)


# Data models and resource validation


def _not_checked() -> str:
    return tk._("This file is not checked: its dataset has no data model, or it is not CSV.")


@tk.side_effect_free
def mel_data_model_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """The data models a dataset can follow, with the URL that identifies each."""
    _refuse_nul(data_dict)
    tk.check_access("mel_data_model_list", context, data_dict)
    return [
        {
            "id": m.id,
            "title": m.title(),
            "url": m.url,
            "official": m.official,
            "theme": m.theme_uri,
            "coordinates": [m.latitude, m.longitude] if m.has_coordinates else None,
        }
        for m in datamodels.all_models()
    ]


@tk.side_effect_free
def mel_validation_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """A resource's last check against its dataset's data model.

    :param id: the resource's id
    :returns: status (pending, valid, invalid or error), the errors (line, column,
        code and message, at most 100) and what was detected (encoding, delimiter, rows)
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_validation_show", context, data_dict)
    data = _validate(data_dict, schema.validation_schema(), context)
    report = validation.show(data["id"])
    if report is None:
        raise tk.ObjectNotFound(_not_checked())
    return report


def mel_validation_run(context: Context, data_dict: DataDict) -> dict[str, Any] | None:
    """Check a resource again now (large files and links: in a background job).

    :param id: the resource's id
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_validation_run", context, data_dict)
    data = _validate(data_dict, schema.validation_schema(), context)
    resource = model.Resource.get(data["id"])
    if validation.data_model_for(resource) is None:
        raise tk.ValidationError({"id": [_not_checked()]})
    validation.on_resource_changed(resource.id, force=True)
    return validation.show(resource.id)


# Feeds and metadata quality


@tk.side_effect_free
def mel_quality_show(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """The metadata quality score of a dataset or an organisation, after data.europa.eu's MQA.

    :param id: a dataset's id or name
    :param organization: or an organisation's id or name: the mean over its public datasets
    :returns: score (out of 405), rating (excellent, good, sufficient or bad), points per
        dimension and per check, and the checks that miss points with a hint for each
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_quality_show", context, data_dict)
    data = _validate(data_dict, schema.quality_show_schema(), context)
    if data.get("id"):
        dataset = tk.get_action("package_show")(dict(context), {"id": data["id"]})
        return quality.dataset_quality(dataset)
    if data.get("organization"):
        return quality.organization_quality(model.Group.get(data["organization"]))
    raise tk.ValidationError({"id": [tk._("Give a dataset or an organization.")]})


@tk.side_effect_free
def mel_quality_list(context: Context, data_dict: DataDict) -> list[dict[str, Any]]:
    """Every organisation's metadata quality score, from one search; for the MEL console.

    Each dataset's result is cached until it changes, so a second call costs a search.
    """
    _refuse_nul(data_dict)
    tk.check_access("mel_quality_list", context, data_dict)
    return quality.organizations_quality()


# Core actions that add a dataset to a commune: each passes the quota first.


# Fields these chained actions read before CKAN validates: of any other type
# than text (a list, an object) they would fail inside the database driver.
_TEXT_FIELDS = ("id", "name", "owner_org", "organization_id", "state")


def _refuse_malformed(data_dict: DataDict) -> None:
    _refuse_nul(data_dict)
    errors = {
        field: [tk._("Give a text value.")]
        for field in _TEXT_FIELDS
        if data_dict.get(field) is not None and not isinstance(data_dict[field], str)
    }
    private = data_dict.get("private")
    if private is not None and not isinstance(private, (bool, str)):
        errors["private"] = [tk._("Give true or false.")]
    if errors:
        raise tk.ValidationError(errors)


def _commune(id_or_name: str | None) -> model.Group | None:
    organization = communes.organization(id_or_name)
    return organization if communes.is_commune(organization) else None


@tk.chained_action
def package_create(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    _refuse_malformed(data_dict)
    commune = _commune(data_dict.get("owner_org"))
    if commune is not None:
        tk.check_access("package_create", context, data_dict)
        quota.check(commune)
    return next_action(context, data_dict)


@tk.chained_action
def package_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    _refuse_malformed(data_dict)
    package = model.Package.get(data_dict.get("id") or data_dict.get("name") or "")
    if package is not None:
        commune = _commune(data_dict.get("owner_org") or package.owner_org)
        moving_in = commune is not None and commune.id != package.owner_org
        restoring = package.state == "deleted" and data_dict.get("state") not in (None, "deleted")
        if commune is not None and (moving_in or restoring):
            tk.check_access("package_update", context, data_dict)
            quota.check(commune)
        datasets.resources_follow_data_model(package, data_dict)
    return next_action(context, data_dict)


@tk.chained_action
def package_owner_org_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    _refuse_malformed(data_dict)
    package = model.Package.get(data_dict.get("id") or "")
    commune = _commune(data_dict.get("organization_id"))
    if package is not None and commune is not None and commune.id != package.owner_org:
        tk.check_access("package_owner_org_update", context, data_dict)
        quota.check(commune)
    return next_action(context, data_dict)


# Resource actions: the file is checked once, by after_resource_create/update (in the
# request, or queued from there). The package update they make inside must not queue a
# check of it too (see MelPlugin._check_resources): it starts the check instead, as soon as
# the file is stored, and after_resource_create/update takes its outcome.


@tk.chained_action
def resource_create(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    return _checking_once(next_action, context, data_dict)


@tk.chained_action
def resource_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    return _checking_once(next_action, context, data_dict)


def _checking_once(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    context["mel_resource_action"] = True
    started: dict[str, validation.Early] = {}
    context["mel_started_checks"] = started
    try:
        return next_action(context, data_dict)
    finally:
        context.pop("mel_resource_action", None)
        context.pop("mel_started_checks", None)
        for _wanted, check in started.values():  # those it did not take (it failed first, say)
            check.abandon()


# ckanext-dcat's feeds publish active datasets only, never reuses. Their search already leaves
# private datasets out; a `fq` naming another state must not bring drafts or
# deleted datasets in.


def _active_only(data_dict: DataDict) -> DataDict:
    return {**data_dict, "fq": f"{data_dict.get('fq') or ''} +state:active +dataset_type:dataset".strip()}


def _refuse_unlinkable_query() -> None:
    """ckanext-dcat copies the request's q and fq into the paging links as they
    are; a space there makes an IRI no RDF serialiser accepts (a 500). Say so."""
    args = tk.request.args if has_request_context() else {}
    for key in ("q", "fq"):
        if any(char.isspace() or char in '<>"{}|\\^`' for char in args.get(key, "")):
            raise tk.ValidationError(
                {
                    key: [
                        tk._(
                            "The feed cannot page a query with spaces or quotes. Use a commune's own "
                            "feed (/organization/<name>/catalog.ttl) or a query without them, such as "
                            "fq=organization:lille."
                        )
                    ]
                }
            )


@tk.chained_action
@tk.side_effect_free
def dcat_catalog_show(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    _refuse_unlinkable_query()
    return next_action(context, _active_only(data_dict))


@tk.chained_action
@tk.side_effect_free
def dcat_catalog_search(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    return next_action(context, _active_only(data_dict))


# A commune's reference fields are the MEL's (logic/auth.py). An update that
# leaves them out keeps them: a commune admin's form shows them read-only, and
# the boundary is on no form, so neither empties what only the MEL may change.


@tk.chained_action
def organization_update(next_action: Action, context: Context, data_dict: DataDict) -> Any:
    _refuse_nul(data_dict)
    ref = data_dict.get("id")
    organization = model.Group.get(ref) if isinstance(ref, str) and ref else None
    if organization is not None and communes.is_commune(organization):
        kept = ("boundary",) if communes.is_mel_staff(context.get("user")) else communes.STAFF_ONLY_FIELDS
        data_dict = {
            **{field: communes.stored_value(organization, field) for field in kept},
            **data_dict,
        }
    return next_action(context, data_dict)

"""Template helpers (mel_*)."""

from __future__ import annotations

import json
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


def mel_data_api(resource_id: str) -> dict[str, Any] | None:
    """Where a file's rows stand in the DataStore API (loader/), with the links pages show."""
    from ckanext.mel import loader

    return loader.show(resource_id)


def mel_long_date(value: str | None) -> str:
    """A date as "7 mai 2018" in the interface's language."""
    return mel_date(value)


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
        return text.format(start=mel_date(entry.get("start_date")), end=mel_date(entry.get("end_date")))
    if action == "extend":
        return tk._("Extended to {end}").format(end=mel_date(entry.get("end_date")))
    if action == "end":
        return tk._("Ended on {day}").format(day=mel_date(entry.get("ended_on")))
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
    return {
        "id": data_model.id,
        "title": data_model.title(),
        "url": data_model.url,
        "page_url": tk.h.url_for("mel_data_models.read", model_id=data_model.id),
    }


def mel_validation_report(resource_id: str) -> dict[str, Any] | None:
    """The resource's validation report, its messages in the interface's language."""
    from ckanext.mel import validation

    return validation.show(resource_id)


def mel_dataset_quality(pkg_dict: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's metadata quality score, for its commune's agents and those who can
    edit it (an expired commune's agents still see it); None for others, and until the
    background job has scored this version of the dataset."""
    from ckanext.mel import quality

    if not (
        mel_is_member(pkg_dict.get("owner_org"))
        or tk.h.check_access("package_update", {"id": pkg_dict["id"]})
    ):
        return None
    return quality.stored_quality(pkg_dict)


# Dates and sizes as a French reader writes them, whatever CKAN's own formats.


def mel_date(value: Any, with_hours: bool = False) -> str:
    """ "1 décembre 2026" (and "à 14:05" with the hours) in the interface's language;
    an ISO string, a date or a datetime; "" for nothing or what is not a date."""
    import datetime

    from flask_babel import format_date, format_datetime

    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ""
    if isinstance(value, datetime.datetime):
        if with_hours:
            local = tk.h.render_datetime(value, date_format="%Y-%m-%dT%H:%M:%S")
            value = datetime.datetime.fromisoformat(local) if local else value
            return format_datetime(value, tk._("d MMMM y 'at' HH:mm"), rebase=False)
        value = value.date()
    if not isinstance(value, datetime.date):
        return ""
    return format_date(value, "long")


def mel_filesize(value: Any) -> str:
    """A size in decimal units with a French reader's symbols: 1,3 Ko, 2,5 Mo."""
    from flask_babel import format_decimal

    try:
        size = int(value)
    except (TypeError, ValueError):
        return ""
    units = (tk._("bytes"), tk._("kB"), tk._("MB"), tk._("GB"), tk._("TB"))
    amount, unit = float(size), 0
    while amount >= 1000 and unit < len(units) - 1:
        amount, unit = amount / 1000, unit + 1
    if unit == 0:
        return f"{size} {units[0]}"
    return f"{format_decimal(round(amount, 1), format='#,##0.#')} {units[unit]}"


# The home page


def mel_home() -> dict[str, Any]:
    """What the home page shows: the communes' progress and the latest datasets."""
    rows = tk.get_action("mel_enrolment_list")({"ignore_auth": True}, {})
    publishing = [row for row in rows if row["status"] in {s.value for s in enrolment.PUBLISHING}]
    leaders = sorted(
        (row for row in rows if row["public_dataset_count"]),
        key=lambda row: (-row["public_dataset_count"], row["title"]),
    )
    latest = tk.get_action("package_search")(
        {"ignore_auth": False},
        {"q": "", "rows": 6, "sort": "metadata_created desc", "include_private": False},
    )
    return {
        "commune_count": len(rows),
        "enrolled_count": len(publishing),
        "at_target_count": sum(1 for row in rows if row["public_dataset_count"] >= row["quota_minimum"]),
        "dataset_count": latest["count"],
        "leaders": leaders[:8],
        "latest": latest["results"],
        "mel_organization": communes.mel_organization_name(),
    }


def mel_commune_title(organization_id: str | None) -> str:
    """The title of a dataset's organisation, for lists of datasets."""
    organization = model.Group.get(organization_id) if organization_id else None
    return organization.title if organization is not None else ""


def mel_dataset_organization(organization_id: str | None) -> dict[str, Any]:
    """The organisation card of a dataset's page: its name, title, description and image.

    Core's `h.get_organization` shows the whole organisation, a commune's reference data
    (its outline among them), members and dataset count, for a card that shows none of
    them, and the page asks twice. This asks once per request, for what the card shows.
    """
    if not organization_id:
        return {}
    cache = tk.g.setdefault("mel_dataset_organization", {}) if has_request_context() else {}
    if organization_id not in cache:
        try:
            cache[organization_id] = tk.get_action("organization_show")(
                {},
                {
                    "id": organization_id,
                    "include_dataset_count": False,
                    "include_extras": False,
                    "include_users": False,
                    "include_groups": False,
                    "include_followers": False,
                },
            )
        except (tk.ObjectNotFound, tk.NotAuthorized):
            cache[organization_id] = {}
    return cache[organization_id]


def mel_main_menu() -> list[dict[str, Any]]:
    """The main menu's links, with the one of the current page marked active."""
    blueprint, _endpoint = tk.get_endpoint()
    path = tk.request.path if has_request_context() else ""
    mel_org = communes.mel_organization_name()
    items = [
        (tk._("Datasets"), tk.h.url_for("dataset.search"), blueprint in ("dataset", "resource"), ""),
        (
            tk._("Communes"),
            tk.h.url_for("mel.communes_index"),
            path == "/communes" or (blueprint == "organization" and mel_org not in path),
            "mel-communes-link",
        ),
        (
            tk._("Metropolitan data"),
            tk.h.url_for("mel_metropolitan.index"),
            blueprint == "mel_metropolitan" or (blueprint == "organization" and mel_org in path),
            "mel-metropolitan-link",
        ),
        (tk._("Reuses"), tk.h.url_for("mel_reuses.index"), blueprint == "mel_reuses", "mel-reuses-link"),
    ]
    if mel_my_communes():
        items.append(
            (
                tk._("My commune"),
                tk.h.url_for("mel.my_commune_index"),
                path.startswith("/ma-commune"),
                "mel-my-commune-link",
            )
        )
    if mel_is_mel_staff():
        items.append(
            (
                tk._("MEL console"),
                tk.h.url_for("mel.console"),
                path.startswith("/ckan-admin/communes"),
                "mel-console-link",
            )
        )
    items.append((tk._("About"), tk.h.url_for("home.about"), blueprint == "home" and "about" in path, ""))
    return [{"label": label, "url": url, "active": active, "css": css} for label, url, active, css in items]


def mel_facet_label_function(facet: str) -> Any:
    """For snippets/facet_list.html's label_function: the theme's and the data model's
    names instead of their URIs and identifiers; None (CKAN's labels) for other facets."""
    from ckanext.mel import search_facets

    if not facet.startswith("vocab_mel_"):
        return None
    return lambda item: search_facets.label(facet, item)


# The MEL's territory, the maps' starting view: [[south, west], [north, east]].
MEL_EXTENT = [[50.50, 2.78], [50.80, 3.28]]


def mel_map_extent() -> list[list[float]]:
    return MEL_EXTENT


# The dataset page shows what is set only.


def _is_set(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_is_set(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_is_set(v) for v in value)
    return value not in (None, "", "[]", "{}")


def mel_has_value(field: dict[str, Any], data: dict[str, Any]) -> bool:
    return _is_set(data.get(field["field_name"]))


def mel_set_entries(field: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries of a repeating field that have at least one value."""
    entries = data.get(field["field_name"]) or []
    return [entry for entry in entries if isinstance(entry, dict) and _is_set(entry)]


def mel_field_type_label(kind: str, fmt: str | None = None) -> str:
    """A Table Schema type in words."""
    labels = {
        "string": tk._("text"),
        "integer": tk._("whole number"),
        "number": tk._("number"),
        "boolean": tk._("yes / no"),
        "date": tk._("date (YYYY-MM-DD)"),
        "datetime": tk._("date and time"),
        "time": tk._("time"),
        "year": tk._("year"),
        "yearmonth": tk._("year and month"),
        "geopoint": tk._("geographic point"),
        "geojson": tk._("GeoJSON geometry"),
        "array": tk._("list"),
        "object": tk._("object"),
    }
    label = labels.get(kind, kind)
    if kind == "string" and fmt in ("email", "uri"):
        label = tk._("email address") if fmt == "email" else tk._("web address")
    return label


def mel_dataset_extent(pkg_dict: dict[str, Any]) -> dict[str, str] | None:
    """The dataset's area, for its page's map: the first place with a geometry, and its name."""
    for place in pkg_dict.get("spatial_coverage") or []:
        if isinstance(place, dict) and place.get("geom"):
            geometry = place["geom"]
            return {
                "geometry": geometry if isinstance(geometry, str) else json.dumps(geometry),
                "name": place.get("text") or "",
            }
    spatial = pkg_dict.get("spatial")
    return {"geometry": spatial, "name": ""} if spatial else None

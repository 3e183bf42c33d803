"""Pages: the public list of communes, the agent's home ("Ma commune", /ma-commune)
and the MEL console at /ckan-admin/communes, the territory's dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint, Response

from ckanext.mel import communes, csrf_guard, enrolment, my_commune, publishing, territory

mel = Blueprint("mel", __name__)
# Every form's CSRF token is checked for browser sessions (CKAN 2.12 may have exempted its view).
mel.before_app_request(csrf_guard.protect_browser_sessions)
# Before the dataset and resource forms: a French page when the commune cannot publish now.
mel.before_app_request(publishing.before_form)


def _context() -> dict[str, Any]:
    return {"user": tk.current_user.name if tk.current_user.is_authenticated else None}


def _rows() -> list[dict[str, Any]]:
    return tk.get_action("mel_enrolment_list")(_context(), {})


@mel.route("/communes")
def communes_index():
    """Transparency: every commune, its enrolment and its datasets."""
    return tk.render("mel/communes.html", {"rows": _rows()})


# "Ma commune": the agent's home


def _commune_or_404(value: str) -> model.Group:
    """The commune a URL names. PostgreSQL refuses NUL characters: such a name is
    no commune's, rather than a server error."""
    organization = None if "\x00" in value else communes.get_commune(value)
    if organization is None:
        tk.abort(404, tk._("No commune is known by {value!r}.").format(value=value))
    return organization


def _login_first():
    """Anonymous visitors log in first, then come back."""
    return tk.redirect_to("user.login", came_from=tk.request.path)


@mel.route("/ma-commune")
def my_commune_index():
    """The user's commune; a chooser when they work for several."""
    if not tk.current_user.is_authenticated:
        return _login_first()
    mine = my_commune.communes_of(tk.current_user.name)
    if len(mine) == 1:
        return _my_commune_page(mine[0])
    rows = [{"organization": commune, "status": tk.h.mel_commune_status(commune.id)} for commune in mine]
    return tk.render("mel/my_communes.html", {"rows": rows})


@mel.route("/ma-commune/bienvenue")
def after_login():
    """Where logging in leads (ckan.auth.route_after_login): agents to their commune,
    MEL staff to the console, everybody else to CKAN's dashboard."""
    if not tk.current_user.is_authenticated:
        return _login_first()
    if my_commune.communes_of(tk.current_user.name):
        return tk.redirect_to("mel.my_commune_index")
    if communes.is_mel_staff(tk.current_user.name):
        return tk.redirect_to("mel.console")
    return tk.redirect_to("dashboard.datasets")


@mel.route("/ma-commune/<commune>")
def my_commune_read(commune: str):
    if not tk.current_user.is_authenticated:
        return _login_first()
    organization = _commune_or_404(commune)
    if not my_commune.may_see(tk.current_user.name, organization):
        message = tk._("This page is for the agents of {commune} and the MEL.")
        tk.abort(403, message.format(commune=organization.title))
    return _my_commune_page(organization)


def _my_commune_page(organization: model.Group) -> str:
    status = tk.h.mel_commune_status(organization.id)
    datasets = my_commune.datasets(organization, _context())
    can_create = status["quota"]["status"] != "full" and tk.h.check_access(
        "package_create", {"owner_org": organization.id}
    )
    return tk.render(
        "mel/my_commune.html",
        {
            "organization": organization,
            "status": status,
            "datasets": datasets,
            "steps": my_commune.next_steps(status, datasets, can_create),
            "can_create": can_create,
        },
    )


# The MEL console


def _require_staff() -> None:
    if not communes.is_mel_staff(_context()["user"]):
        tk.abort(403, tk._("Only MEL staff can manage the communes' enrolment."))


# The table's filters: each a query parameter with its allowed values.
OBLIGATION_FILTER = {"yes": True, "no": False}
TARGET_FILTER = {"reached": True, "missed": False}


def _filters() -> dict[str, str | None]:
    """The console's filters from the query string; anything unknown is a 400."""
    args = tk.request.args
    filters = {name: args.get(name) or None for name in ("status", "obligation", "target", "q")}
    if filters["q"] and ("\x00" in filters["q"] or len(filters["q"]) > 100):
        tk.abort(400, tk._("Search for a commune by its name or its INSEE code."))
    if filters["status"] and filters["status"] not in {s.value for s in enrolment.Status}:
        tk.abort(400, tk._("Unknown status: {status}").format(status=filters["status"]))
    if filters["obligation"] and filters["obligation"] not in OBLIGATION_FILTER:
        tk.abort(400, tk._("The obligation filter is “yes” or “no”."))
    if filters["target"] and filters["target"] not in TARGET_FILTER:
        tk.abort(400, tk._("The target filter is “reached” or “missed”."))
    return filters


def _console_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str | None]]:
    """Every commune with its quality score, and those the filters keep."""
    filters = _filters()
    rows = _rows()
    scores = {q["id"]: q for q in tk.get_action("mel_quality_list")(_context(), {})}
    for row in rows:
        score = scores.get(row["organization_id"]) or {}
        row.update(
            quality_score=score.get("score"),
            quality_rating=score.get("rating"),
            quality_rating_label=score.get("rating_label"),
            at_target=territory.at_target(row),
        )
    status, obligation, target = filters["status"], filters["obligation"], filters["target"]
    words = communes.slugify(filters["q"] or "")
    shown = [
        row
        for row in rows
        if (not status or row["status"] == status)
        and (not obligation or row["obligation"] == OBLIGATION_FILTER[obligation])
        and (not target or row["at_target"] == TARGET_FILTER[target])
        and (
            not words or words in communes.slugify(row["title"]) or words == (row["insee_code"] or "").lower()
        )
    ]
    return rows, shown, filters


@mel.route("/ckan-admin/communes")
def console():
    _require_staff()
    rows, shown, filters = _console_rows()
    timeline = territory.timeline((row["organization_id"] for row in rows), locale=tk.h.lang())
    labels = [point["short_label"] for point in timeline]
    charts = {
        series: territory.bar_chart([point[series] for point in timeline], labels)
        for series in ("enrolled", "datasets")
    }
    return tk.render(
        "mel/console.html",
        {
            "rows": shown,
            "filters": filters,
            "totals": territory.totals(rows),
            "timeline": timeline,
            "charts": charts,
            # The exports keep the table's filters.
            "export_url": tk.h.url_for("mel.console_csv_french", **{k: v for k, v in filters.items() if v}),
            "data_export_url": tk.h.url_for("mel.console_csv", **{k: v for k, v in filters.items() if v}),
        },
    )


CSV_COLUMNS = (
    "insee_code",
    "title",
    "population",
    "obligation",
    "status",
    "start_date",
    "end_date",
    "days_left",
    "dataset_count",
    "public_dataset_count",
    "quota_minimum",
    "quota_maximum",
    "at_target",
    "quality_score",
    "quality_rating",
)


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"):
# = + - @ at its start, or a tab or carriage return before them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell that a spreadsheet would run, shown as text instead: a quote before it.

    Numbers stay numbers (a negative count is data, not a formula).
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


@mel.route("/ckan-admin/communes.csv")
def console_csv():
    """The console's table, with its filters, for spreadsheet software."""
    _require_staff()
    _all, shown, _filters = _console_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in shown)
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so that spreadsheet software reads UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=communes-mel.csv"},
    )


@mel.route("/ckan-admin/communes-fr.csv")
def console_csv_french():
    """The console's table, with its filters, for French spreadsheet software: `;`,
    UTF-8 with a BOM, French headers and values (console_csv is the data export)."""
    _require_staff()
    _all, shown, _filters = _console_rows()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([header for _key, header in territory.FRENCH_EXPORT_COLUMNS])
    for row in shown:
        row = {**row, "end_date": row.get("ended_on") or row.get("end_date")}
        writer.writerow(
            [
                spreadsheet_safe(territory.french_value(key, row.get(key)))
                for key, _header in territory.FRENCH_EXPORT_COLUMNS
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=communes-mel-tableur.csv"},
    )


@mel.route("/ckan-admin/communes/<commune>")
def console_commune(commune: str):
    _require_staff()
    organization = _commune_or_404(commune)
    shown = tk.get_action("mel_enrolment_show")(
        _context(), {"organization": organization.id, "include_history": True}
    )
    quota = tk.get_action("mel_quota_show")(_context(), {"organization": commune})
    return tk.render(
        "mel/console_commune.html",
        {"enrolment": shown, "quota": quota, "operations": territory.allowed_operations(shown["status"])},
    )


# Each console form posts to one operation, which maps to one action.
OPERATIONS = {
    "enrol": ("mel_enrolment_create", ("start_date", "end_date", "reason")),
    "extend": ("mel_enrolment_extend", ("months", "until", "reason")),
    "end": ("mel_enrolment_end", ("reason",)),
    "make_permanent": ("mel_enrolment_make_permanent", ("reason",)),
    "quota": ("mel_quota_set", ("maximum", "reason")),
}


@mel.route("/ckan-admin/communes/<commune>/<operation>", methods=["POST"])
def console_operation(commune: str, operation: str):
    _require_staff()
    if operation not in OPERATIONS:
        tk.abort(404)
    organization = _commune_or_404(commune)
    action, fields = OPERATIONS[operation]
    data = {field: tk.request.form[field] for field in fields if tk.request.form.get(field)}
    if any("\x00" in value for value in data.values()):
        tk.abort(400, tk._("The form contains a character that is not allowed."))
    if operation == "end" and tk.request.form.get("confirm") != "yes":
        # Ending cannot be undone: the form asks to tick a confirmation first.
        tk.h.flash_error(tk._("Tick the box to confirm that the enrolment ends today: it cannot be undone."))
        return tk.redirect_to("mel.console_commune", commune=commune)
    try:
        tk.get_action(action)(_context(), {"organization": organization.id, **data})
    except tk.ValidationError as error:
        for field, messages in error.error_dict.items():
            text = " ".join(messages) if isinstance(messages, list) else str(messages)
            label = territory.field_label(field)
            tk.h.flash_error(
                text
                if field == "organization"
                else tk._("{field}: {message}").format(field=label, message=text)
            )
    except tk.NotAuthorized as error:
        tk.abort(403, str(error))
    else:
        shown = tk.get_action("mel_enrolment_show")(_context(), {"organization": organization.id})
        quota = tk.get_action("mel_quota_show")(_context(), {"organization": organization.id})
        tk.h.flash_success(territory.success_message(operation, organization.title, shown, quota))
    return tk.redirect_to("mel.console_commune", commune=commune)


# Harvesting: how data.gouv.fr picks up a commune's datasets, or the whole catalogue's.


@mel.route("/moissonnage")
def harvesting_guide():
    """The guide for the MEL's whole catalogue."""
    return tk.render("mel/harvesting.html", {"organization": None, "feed_url": _feed_url(None)})


@mel.route("/moissonnage/<commune>")
def harvesting_guide_commune(commune: str):
    """The guide for one commune: its own feed, under its own name on data.gouv.fr."""
    organization = _commune_or_404(commune)
    return tk.render(
        "mel/harvesting.html", {"organization": organization, "feed_url": _feed_url(organization)}
    )


def _feed_url(organization: model.Group | None) -> str:
    if organization is None:
        return tk.h.url_for("dcat.read_catalog", _format="xml", _external=True)
    return tk.h.url_for("mel_feeds.organization_catalog", id=organization.name, _format="xml", _external=True)

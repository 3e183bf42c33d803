"""Pages: the public list of communes, and the MEL console at /ckan-admin/communes."""
from __future__ import annotations

import csv
import io
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint, Response

from ckanext.mel import communes

mel = Blueprint("mel", __name__)


def _context() -> dict[str, Any]:
    return {"user": tk.current_user.name if tk.current_user.is_authenticated else None}


def _rows(status: str | None = None) -> list[dict[str, Any]]:
    return tk.get_action("mel_enrolment_list")(_context(), {"status": status} if status else {})


@mel.route("/communes")
def communes_index():
    """Transparency: every commune, its enrolment and its datasets."""
    return tk.render("mel/communes.html", {"rows": _rows()})


def _require_staff() -> None:
    if not communes.is_mel_staff(_context()["user"]):
        tk.abort(403, tk._("Only MEL staff can manage the communes' enrolment."))


@mel.route("/ckan-admin/communes")
def console():
    _require_staff()
    status = tk.request.args.get("status") or None
    try:
        rows = _rows(status)
    except tk.ValidationError:
        tk.abort(400, tk._("Unknown status: {status}").format(status=status))
    return tk.render("mel/console.html", {"rows": rows, "status": status})


CSV_COLUMNS = (
    "insee_code", "title", "population", "obligation", "status", "start_date", "end_date",
    "days_left", "dataset_count", "public_dataset_count", "quota_minimum", "quota_maximum",
)


@mel.route("/ckan-admin/communes.csv")
def console_csv():
    _require_staff()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_rows())
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM, so that spreadsheet software reads UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=communes-mel.csv"},
    )


@mel.route("/ckan-admin/communes/<commune>")
def console_commune(commune: str):
    _require_staff()
    try:
        shown = tk.get_action("mel_enrolment_show")(_context(), {"organization": commune, "include_history": True})
    except tk.ValidationError:
        tk.abort(404, tk._("No commune is known by {value!r}.").format(value=commune))
    quota = tk.get_action("mel_quota_show")(_context(), {"organization": commune})
    return tk.render("mel/console_commune.html", {"enrolment": shown, "quota": quota})


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
    action, fields = OPERATIONS[operation]
    data = {field: tk.request.form[field] for field in fields if tk.request.form.get(field)}
    try:
        tk.get_action(action)(_context(), {"organization": commune, **data})
    except tk.ValidationError as error:
        for field, messages in error.error_dict.items():
            text = " ".join(messages) if isinstance(messages, list) else str(messages)
            tk.h.flash_error(f"{field}: {text}" if field != "organization" else text)
    except tk.NotAuthorized as error:
        tk.abort(403, str(error))
    else:
        tk.h.flash_success(tk._("Saved."))
    return tk.redirect_to("mel.console_commune", commune=commune)

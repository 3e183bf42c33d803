"""The agent's home, "Ma commune": the communes a user works for and, for one of
them, its datasets with their files' checks and their quality score, and what to
do next, most pressing first.

The to-do list is decided here, from the same sources as the rules themselves
(the enrolment's refusal message, the quota's status, the validation reports,
the quality score), so that the home never says something the portal would
then refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model

from ckanext.mel import communes, quality, validation

# Ratings under which the home suggests improving a dataset's description.
WEAK_RATINGS = ("bad", "sufficient")


def communes_of(user_name: str | None) -> list[model.Group]:
    """The communes in which the user has a role (member, editor or admin), by name."""
    user = model.User.get(user_name) if user_name else None
    if user is None:
        return []
    organizations = (
        model.Session.query(model.Group)
        .join(model.Member, model.Member.group_id == model.Group.id)
        .filter(
            model.Member.table_name == "user",
            model.Member.table_id == user.id,
            model.Member.state == "active",
            model.Group.is_organization.is_(True),
            model.Group.state == "active",
        )
        .order_by(model.Group.title)
        .all()
    )
    return [organization for organization in organizations if communes.is_commune(organization)]


def datasets(organization: model.Group, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The commune's datasets the user may see (drafts and private ones included),
    newest first, each with its files' validation reports and its quality score."""
    packages = (
        model.Session.query(model.Package)
        .filter(model.Package.owner_org == organization.id, model.Package.state != "deleted")
        .order_by(model.Package.metadata_created.desc())
        .all()
    )
    rows = []
    for package in packages:
        try:
            shown = tk.get_action("package_show")(dict(context), {"id": package.id})
        except (tk.NotAuthorized, tk.ObjectNotFound):
            continue
        resources = [
            {
                "id": r["id"],
                "name": r.get("name") or r.get("url", "").rsplit("/", 1)[-1] or r["id"],
                "format": r.get("format"),
                "report": validation.show(r["id"]),
            }
            for r in shown.get("resources", [])
        ]
        rows.append(
            {
                "id": shown["id"],
                "name": shown["name"],
                "title": shown.get("title") or shown["name"],
                "state": shown["state"],
                "private": shown.get("private", False),
                "data_model": shown.get("data_model"),
                "metadata_modified": shown.get("metadata_modified"),
                "resources": resources,
                # Scored as the feeds publish it, by a job after each change: the page only reads it.
                "quality": quality.stored_quality(shown) if shown["state"] == "active" else None,
            }
        )
    return rows


@dataclass(frozen=True)
class Step:
    """One thing to do. `kind` is stable (templates, tests); `text` is translated."""

    kind: str
    level: str  # "danger", "warning", "info" or "success", as Bootstrap's alerts
    text: str
    url: str | None = None
    link_text: str | None = None


def next_steps(status: dict[str, Any], rows: list[dict[str, Any]], can_create: bool) -> list[Step]:
    """What the commune's agents should do next, most pressing first.

    status: h.mel_commune_status of the commune; rows: `datasets`; can_create:
    whether the user may create a dataset for it.
    """
    if status["refusal"]:
        # Nothing else can be done before the MEL enrols the commune again.
        return [Step("read_only", "warning", status["refusal"])]
    steps = [
        *_period_steps(status),
        *_file_steps(rows),
        *_dataset_steps(rows),
        *_quota_steps(status, can_create),
        *_quality_steps(rows),
    ]
    if not steps:
        text = tk._("All is in order: the commune publishes {count} datasets. Keep them up to date.")
        steps.append(Step("all_good", "success", text.format(count=status["quota"]["public_count"])))
    return steps


def _period_steps(status: dict[str, Any]) -> list[Step]:
    """The free period ending soon: contact the MEL."""
    if status["status"] != "expiring_soon":
        return []
    contact = tk.config.get("ckanext.mel.contact_email")
    text = tk.ungettext(
        "Your free period ends in {days} day, on {end}: to keep publishing, contact the MEL at {contact}.",
        "Your free period ends in {days} days, on {end}: to keep publishing, contact the MEL at {contact}.",
        status["days_left"],
    )
    end = tk.h.mel_long_date(status["end_date"])
    text = text.format(days=status["days_left"], end=end, contact=contact)
    return [Step("expiring", "warning", text, f"mailto:{contact}", tk._("Write to the MEL"))]


def _file_steps(rows: list[dict[str, Any]]) -> list[Step]:
    """Files that do not follow their data model, or could not be checked."""
    steps = []
    for row in rows:
        for resource in row["resources"]:
            report = resource["report"]
            if report is None or report["status"] not in (validation.INVALID, validation.ERROR):
                continue
            count = report.get("error_count") or len(report["errors"])
            if report["status"] == validation.INVALID:
                text = tk.ungettext(
                    "Fix the file “{file}” of “{dataset}”: "
                    "it does not follow its data model ({count} error).",
                    "Fix the file “{file}” of “{dataset}”: "
                    "it does not follow its data model ({count} errors).",
                    count,
                )
            else:
                text = tk._("The file “{file}” of “{dataset}” could not be checked: read why.")
            text = text.format(file=resource["name"], dataset=row["title"], count=count)
            url = tk.h.url_for("resource.read", id=row["name"], resource_id=resource["id"])
            steps.append(
                Step("fix_file", "danger", text, url + "#validation-report", tk._("Read the report"))
            )
    return steps


def _dataset_steps(rows: list[dict[str, Any]]) -> list[Step]:
    """Datasets not yet published: drafts, datasets without a file, private ones."""
    _, url_for = tk._, tk.h.url_for
    steps = []
    for row in rows:
        title = row["title"]
        if row["state"] == "draft":
            text = _("“{dataset}” is still a draft: add its file to publish it.").format(dataset=title)
            url = url_for("resource.new", id=row["name"])
            steps.append(Step("finish_draft", "warning", text, url, _("Add the file")))
            continue
        if not row["resources"]:
            text = _("“{dataset}” has no file yet: add one.").format(dataset=title)
            url = url_for("resource.new", id=row["name"])
            steps.append(Step("add_file", "warning", text, url, _("Add a file")))
        if row["private"]:
            text = _("“{dataset}” is private: make it public so that it counts towards the target.")
            url = url_for("dataset.edit", id=row["name"])
            steps.append(Step("make_public", "info", text.format(dataset=title), url, _("Edit the dataset")))
    return steps


def _quota_steps(status: dict[str, Any], can_create: bool) -> list[Step]:
    """The quota: full, or the target not reached yet."""
    quota = status["quota"]
    if quota["status"] == "full":
        text = tk._(
            "The commune has reached its maximum of {maximum} datasets: "
            "delete one, or ask the MEL for more, to add another."
        )
        return [Step("quota_full", "info", text.format(maximum=quota["maximum"]))]
    if quota["public_count"] >= quota["minimum"]:
        return []
    missing = quota["minimum"] - quota["public_count"]
    text = tk.ungettext(
        "Publish {count} more dataset to reach the target of {minimum}.",
        "Publish {count} more datasets to reach the target of {minimum}.",
        missing,
    ).format(count=missing, minimum=quota["minimum"])
    if not can_create:
        return [Step("reach_target", "info", text)]
    url = tk.h.url_for("dataset.new", group=status["organization_id"])
    return [Step("reach_target", "info", text, url, tk._("Add a dataset"))]


def _quality_steps(rows: list[dict[str, Any]]) -> list[Step]:
    """Public datasets whose metadata quality is weak."""
    steps = []
    for row in rows:
        score = row["quality"]
        weak = score is not None and score["rating"] in WEAK_RATINGS
        if row["state"] != "active" or row["private"] or not weak:
            continue
        text = tk._(
            "Complete the description of “{dataset}”: its metadata quality is {rating} "
            "({score} / {max} points)."
        ).format(
            dataset=row["title"],
            rating=score["rating_label"].lower(),
            score=score["score"],
            max=score["max"],
        )
        url = tk.h.url_for("dataset.read", id=row["name"]) + "#mel-quality"
        steps.append(Step("improve_quality", "info", text, url, tk._("See what is missing")))
    return steps


def may_see(user_name: str | None, organization: model.Group) -> bool:
    """The commune's members and MEL staff."""
    if communes.is_mel_staff(user_name):
        return True
    return any(commune.id == organization.id for commune in communes_of(user_name))

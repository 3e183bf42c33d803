"""Emails to the communes' admins as their free period ends: 30 and 7 days
before the end, and when it has ended. Each is sent once per end date, so the
command can run daily from cron and an extension re-arms the reminders."""

from __future__ import annotations

import datetime
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.lib import mailer

from ckanext.mel import enrolment, history, quota
from ckanext.mel.enrolment import Status

REMINDER_DAYS = {"30_days": 30, "7_days": 7}
# An expiry notice is still worth sending this many days after the end.
EXPIRED_GRACE_DAYS = 30


def due_kind(entry: enrolment.Enrolment, on: datetime.date) -> str | None:
    """The most urgent notice this enrolment needs today, sent or not."""
    status = enrolment.status_of(entry, on)
    if status == Status.EXPIRED:
        return "expired" if (on - entry.end_date).days <= EXPIRED_GRACE_DAYS else None
    if status not in (Status.ACTIVE, Status.EXPIRING_SOON):
        return None
    left = (entry.end_date - on).days
    for kind, days in sorted(REMINDER_DAYS.items(), key=lambda item: item[1]):
        if left <= days:
            return kind
    return None


def _already_sent(organization_id: str, kind: str, end_date: datetime.date) -> bool:
    """True if this notice, or a more urgent one, went out for this end date."""
    order = ["30_days", "7_days", "expired"]
    return any(
        entry.data.get("end_date") == end_date.isoformat()
        and order.index(entry.data["kind"]) >= order.index(kind)
        for entry in history.entries(organization_id, "notify")
    )


def recipients(organization: model.Group) -> list[tuple[str, str]]:
    admins = [
        (user.display_name, user.email)
        for user in model.Session.query(model.User)
        .join(model.Member, model.Member.table_id == model.User.id)
        .filter(
            model.Member.group_id == organization.id,
            model.Member.table_name == "user",
            model.Member.capacity == "admin",
            model.Member.state == "active",
            model.User.state == "active",
        )
        if user.email
    ]
    if not admins and organization.extras.get("contact_email"):
        admins = [(organization.title, organization.extras["contact_email"])]
    return admins


def message(organization: model.Group, kind: str, entry: enrolment.Enrolment) -> tuple[str, str]:
    datasets, public = quota.counts(organization.id)
    end = entry.end_date.strftime("%d/%m/%Y")
    if kind == "expired":
        subject = tk._("{commune}: the free period ended on {end}")
        lead = tk._(
            "The free period of {commune} on the MEL's open data portal ended on {end}. "
            "Its datasets stay public and harvested, but can no longer be changed."
        )
    else:
        subject = tk._("{commune}: the free period ends on {end}")
        lead = tk._(
            "The free period of {commune} on the MEL's open data portal ends on {end}, "
            "in {days} days. After that day its datasets stay public but can no longer be changed."
        )
    progress = tk._(
        "{commune} publishes {public} of the {minimum} datasets it aims for "
        "({datasets} in all, {maximum} at most)."
    )
    values = {
        "commune": organization.title,
        "end": end,
        "days": (entry.end_date - enrolment.today()).days,
        "public": public,
        "datasets": datasets,
        "minimum": quota.minimum(),
        "maximum": quota.maximum(organization.id),
    }
    contact = tk._("To extend it, contact the MEL at {contact}.").format(
        contact=tk.config.get("ckanext.mel.contact_email")
    )
    body = "\n\n".join(
        [lead.format(**values), progress.format(**values), contact, tk.config.get("ckan.site_url")]
    )
    return subject.format(**values), body


def send_due(user_id: str | None) -> list[dict[str, Any]]:
    """Send every notice due today that was not sent yet; record each in the history."""
    on = enrolment.today()
    sent = []
    for entry in model.Session.query(enrolment.Enrolment).all():
        kind = due_kind(entry, on)
        if kind is None or _already_sent(entry.organization_id, kind, entry.end_date):
            continue
        organization = model.Group.get(entry.organization_id)
        to = recipients(organization)
        subject, body = message(organization, kind, entry)
        for name, email in to:
            mailer.mail_recipient(name, email, subject, body)
        emails = [email for _, email in to]
        history.record(
            organization.id,
            "notify",
            user_id,
            kind=kind,
            end_date=entry.end_date.isoformat(),
            recipients=emails,
        )
        model.repo.commit()
        sent.append({"organization": organization.name, "kind": kind, "recipients": emails})
    return sent

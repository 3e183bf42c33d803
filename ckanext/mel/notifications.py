"""Emails to the communes' admins as their free period ends: 30 and 7 days
before the end, and when it has ended. Each is sent once per end date, so the
command can run daily from cron and an extension re-arms the reminders.

The history records what was really delivered, address by address: a notice
the mail server refused, or one that had nobody to go to, is not recorded, so
the next run tries it again; one commune's failure never stops the others."""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ckan.plugins.toolkit as tk
import jinja2
from babel import support
from ckan import model
from ckan.lib import mailer

from ckanext.mel import enrolment, history, quota
from ckanext.mel.enrolment import Status

log = logging.getLogger(__name__)

REMINDER_DAYS = {"30_days": 30, "7_days": 7}
# An expiry notice is still worth sending this many days after the end.
EXPIRED_GRACE_DAYS = 30
EMAILS = Path(__file__).parent / "templates" / "mel" / "emails"
I18N = Path(__file__).parent / "i18n"


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


NOTICE_ORDER = ["30_days", "7_days", "expired"]


def delivered_to(organization_id: str, kind: str, end_date: datetime.date) -> set[str]:
    """The addresses that received this notice, or a more urgent one, for this end date."""
    done: set[str] = set()
    for entry in history.entries(organization_id, "notify"):
        if entry.data.get("end_date") == end_date.isoformat() and NOTICE_ORDER.index(
            entry.data["kind"]
        ) >= NOTICE_ORDER.index(kind):
            done.update(entry.data.get("recipients") or [])
    return done


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


@functools.cache
def _emails() -> jinja2.Environment:
    """The emails' templates (templates/mel/emails/). Plain text: nothing is HTML-escaped, so a
    commune named Villeneuve-d'Ascq keeps its apostrophe. They render in a job worker too, where
    CKAN's render (which wants a request) is not available."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(EMAILS),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@functools.cache
def _catalogue(locale: str) -> Callable[[str], str]:
    """The plugin's gettext catalogue of one language (its compiled .mo in i18n/)."""
    return support.Translations.load(str(I18N), [locale], domain="ckanext-mel").gettext


def render_email(template: str, **values: Any) -> str:
    """An email template rendered in the portal's language (`ckan.locale_default`).

    Not CKAN's `_`: outside a request (the job worker sends the daily reminders)
    it translates nothing, and inside one it would follow the sender's language,
    not the commune's.
    """
    gettext = _catalogue(tk.config.get("ckan.locale_default") or "en")
    return _emails().get_template(template).render(_=gettext, **values).strip()


def message(organization: model.Group, kind: str, entry: enrolment.Enrolment) -> tuple[str, str]:
    """The reminder's subject and body (templates/mel/emails/reminder*.txt)."""
    datasets, public = quota.counts(organization.id)
    values = {
        "commune": organization.title,
        "end": entry.end_date.strftime("%d/%m/%Y"),
        "days": (entry.end_date - enrolment.today()).days,
        "public": public,
        "datasets": datasets,
        "minimum": quota.minimum(),
        "maximum": quota.maximum(organization.id),
    }
    extra = {
        "kind": kind,
        "values": values,
        "contact": tk.config.get("ckanext.mel.contact_email"),
        "site_url": tk.config.get("ckan.site_url"),
    }
    return render_email("reminder_subject.txt", **extra), render_email("reminder.txt", **extra)


def send_due(user_id: str | None) -> dict[str, list[dict[str, Any]]]:
    """Send every notice due today to whoever has not received it yet.

    Returns what was delivered (`sent`, recorded in the history), what the mail
    server did not take (`failed`) and the notices that had nobody to go to
    (`unreachable`); neither of the last two is recorded, so both are tried again.
    """
    on = enrolment.today()
    result: dict[str, list[dict[str, Any]]] = {"sent": [], "failed": [], "unreachable": []}
    for entry in model.Session.query(enrolment.Enrolment).all():
        kind = due_kind(entry, on)
        if kind is None:
            continue
        organization = model.Group.get(entry.organization_id)
        done = delivered_to(organization.id, kind, entry.end_date)
        to = [(name, email) for name, email in recipients(organization) if email not in done]
        if not to:
            if not done:
                log.warning(
                    "%s: the %s notice has no recipient (no admin, no contact)", organization.name, kind
                )
                result["unreachable"].append({"organization": organization.name, "kind": kind})
            continue
        subject, body = message(organization, kind, entry)
        delivered, failed = [], []
        for name, email in to:
            try:
                mailer.mail_recipient(name, email, subject, body)
            except (mailer.MailerException, OSError) as error:
                log.warning("%s: the %s notice to %s failed: %s", organization.name, kind, email, error)
                failed.append(email)
            else:
                delivered.append(email)
        if failed:
            result["failed"].append({"organization": organization.name, "kind": kind, "recipients": failed})
        if delivered:
            history.record(
                organization.id,
                "notify",
                user_id,
                kind=kind,
                end_date=entry.end_date.isoformat(),
                recipients=delivered,
            )
            model.repo.commit()
            result["sent"].append({"organization": organization.name, "kind": kind, "recipients": delivered})
    return result


def failure_message(result: dict[str, list[dict[str, Any]]]) -> str:
    """What a person needs to know when the mail server did not take every notice."""
    communes = ", ".join(sorted({line["organization"] for line in result["failed"]}))
    return tk._(
        "The mail server could not send {failed} notice(s) (communes: {communes}); they will be tried "
        "again on the next run. {sent} notice(s) were sent."
    ).format(failed=len(result["failed"]), communes=communes, sent=len(result["sent"]))


def send_due_reminders_job() -> None:
    """The daily job (scheduler.JOBS): the reminders due today, as the site user."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    try:
        result = tk.get_action("mel_enrolment_notify")({"user": site_user["name"]}, {})
    except tk.ValidationError as error:
        # Delivered notices are recorded; the others are tried again tomorrow.
        log.warning("reminders: %s", error.error_dict)
        return
    log.info("%d reminder(s) sent", len(result["sent"]))

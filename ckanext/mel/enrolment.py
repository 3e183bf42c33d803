"""The six-month free enrolment of a commune: dates, status and history.

A commune has at most one current enrolment (a row of mel_enrolment); every
change is written to mel_commune_history with who, when and why. The status is
never stored: it is derived from the dates and today's date, so that an
enrolment expires without any job having to run.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import model
from dateutil.relativedelta import relativedelta

from ckanext.mel import history
from ckanext.mel.model import Enrolment


class Status(str, enum.Enum):
    NOT_ENROLLED = "not_enrolled"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    ENDED_EARLY = "ended_early"
    PERMANENT = "permanent"


# The statuses in which a commune may publish and edit its datasets.
PUBLISHING = frozenset({Status.ACTIVE, Status.EXPIRING_SOON, Status.PERMANENT})
# A commune in a period, now or to come.
ENROLLED = frozenset({Status.SCHEDULED, Status.ACTIVE, Status.EXPIRING_SOON, Status.PERMANENT})
# A commune whose period is over.
ENDED = frozenset({Status.EXPIRED, Status.ENDED_EARLY})
# The statuses from which a new enrolment may start.
MAY_ENROL = ENDED | {Status.NOT_ENROLLED}


def status_label(status: Status) -> str:
    return {
        # Phrased apart from CKAN's own "Active"/"Expired", which the catalogue must not override.
        Status.NOT_ENROLLED: tk._("Not enrolled"),
        Status.SCHEDULED: tk._("Starts later"),
        Status.ACTIVE: tk._("In its free period"),
        Status.EXPIRING_SOON: tk._("Free period ending soon"),
        Status.EXPIRED: tk._("Free period over"),
        Status.ENDED_EARLY: tk._("Ended early"),
        Status.PERMANENT: tk._("Permanent member"),
    }[status]


def today() -> datetime.date:
    return datetime.date.today()


# How far a free period may reach: an end date past this is a typing error.
LAST_DAY = datetime.date(9999, 12, 31)


def add_months(start: datetime.date, months: int) -> datetime.date:
    """Calendar months, clamped to the month's end: 31 August + 6 = end of February."""
    try:
        return start + relativedelta(months=months)
    except (OverflowError, ValueError):
        raise tk.ValidationError(
            {"months": [tk._("The new end date would be after {last}.").format(last=_format(LAST_DAY))]}
        ) from None


def default_end(start: datetime.date) -> datetime.date:
    return add_months(start, tk.config.get("ckanext.mel.enrolment.months"))


def get(organization_id: str) -> Enrolment | None:
    return model.Session.get(Enrolment, organization_id)


def status_of(enrolment: Enrolment | None, on: datetime.date | None = None) -> Status:
    on = on or today()
    if enrolment is None:
        return Status.NOT_ENROLLED
    if enrolment.ended_on is not None and enrolment.ended_on <= on:
        return Status.ENDED_EARLY
    if enrolment.permanent:
        return Status.PERMANENT
    if on < enrolment.start_date:
        return Status.SCHEDULED
    if on > enrolment.end_date:
        return Status.EXPIRED
    if (enrolment.end_date - on).days <= tk.config.get("ckanext.mel.enrolment.expiring_days"):
        return Status.EXPIRING_SOON
    return Status.ACTIVE


def days_left(enrolment: Enrolment | None, on: datetime.date | None = None) -> int | None:
    """Days of free period left, today included; None when that means nothing."""
    status = status_of(enrolment, on)
    if enrolment is None or status not in (Status.ACTIVE, Status.EXPIRING_SOON, Status.SCHEDULED):
        return None
    return (enrolment.end_date - (on or today())).days


def closing_date(enrolment: Enrolment | None) -> datetime.date | None:
    """The day the messages say a period "ended on": its end date, or the day it was ended."""
    if enrolment is None or enrolment.permanent:
        return None
    return enrolment.ended_on or enrolment.end_date


def last_day(
    end_date: datetime.date | None, permanent: bool, ended_on: datetime.date | None
) -> datetime.date | None:
    """The last day a period lets the commune publish (status_of's rule): the day before it was
    ended, else its end date; None for a permanent member."""
    if ended_on is not None:
        return ended_on - datetime.timedelta(days=1)
    if permanent:
        return None
    return end_date


def can_publish(organization_id: str) -> bool:
    return status_of(get(organization_id)) in PUBLISHING


def refusal_message(organization: model.Group) -> str | None:
    """Why members of this commune may not write now, or None if they may."""
    enrolment = get(organization.id)
    status = status_of(enrolment)
    if status in PUBLISHING:
        return None
    contact = tk.config.get("ckanext.mel.contact_email")
    if status == Status.NOT_ENROLLED:
        text = tk._(
            "{commune} is not enrolled on the portal, so its datasets cannot be created or "
            "changed. To enrol, contact the MEL at {contact}."
        )
    elif status == Status.SCHEDULED:
        text = tk._(
            "The free period of {commune} starts on {start}; datasets can be published from "
            "that day. Questions: {contact}."
        )
    else:
        text = tk._(
            "The free period of {commune} ended on {end}: its datasets stay public but can no "
            "longer be changed. To publish again, ask the MEL to enrol it again: {contact}."
        )
    return text.format(
        commune=organization.title or organization.name,
        start=_format(enrolment.start_date) if enrolment else "",
        end=_format(closing_date(enrolment)) if enrolment else "",
        contact=contact,
    )


def _format(day: datetime.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


# Changes. Each takes the commune's lock, reads the enrolment afresh, writes one
# history row; the caller commits (which releases the lock).


def lock(organization_id: str) -> Enrolment | None:
    """Serialise enrolment changes for one commune until the transaction ends.

    Concurrent requests queue here, and each then reads what the one before it
    committed: N extensions move the end date N times, and of N enrolments one
    finds the commune not enrolled while the others find it enrolled.
    """
    model.Session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"mel_enrolment:{organization_id}"}
    )
    return model.Session.get(Enrolment, organization_id, populate_existing=True)


def enrol(
    organization: model.Group,
    user_id: str | None,
    reason: str = "",
    start: datetime.date | None = None,
    end: datetime.date | None = None,
) -> Enrolment:
    enrolment = lock(organization.id)
    status = status_of(enrolment)
    if status not in MAY_ENROL:
        raise tk.ValidationError(
            {
                "organization": [
                    tk._("{commune} is already enrolled ({status}).").format(
                        commune=organization.title, status=status_label(status).lower()
                    )
                ]
            }
        )
    start = start or today()
    end = end or default_end(start)
    if end < start:
        raise tk.ValidationError({"end_date": [tk._("The end date must not be before the start date.")]})
    action = "enrol" if enrolment is None else "re_enrol"
    if enrolment is None:
        enrolment = Enrolment(organization_id=organization.id)
        model.Session.add(enrolment)
    enrolment.start_date, enrolment.end_date = start, end
    enrolment.ended_on, enrolment.permanent = None, False
    history.record(organization.id, action, user_id, reason, **_snapshot(enrolment))
    return enrolment


def extend(
    organization: model.Group,
    user_id: str | None,
    reason: str = "",
    months: int | None = None,
    until: datetime.date | None = None,
) -> Enrolment:
    enrolment = _current(organization)
    status = status_of(enrolment)
    if status in (Status.EXPIRED, Status.ENDED_EARLY):
        raise tk.ValidationError(
            {
                "organization": [
                    tk._(
                        "The enrolment of {commune} ended on {end}; enrol it again to start a new period."
                    ).format(commune=organization.title, end=_format(closing_date(enrolment)))
                ]
            }
        )
    if status == Status.PERMANENT:
        raise tk.ValidationError(
            {"organization": [tk._("{commune} is a permanent member.").format(commune=organization.title)]}
        )
    if (months is None) == (until is None):
        raise tk.ValidationError({"months": [tk._("Give either a number of months or a date.")]})
    new_end = add_months(enrolment.end_date, months) if months is not None else until
    assert new_end is not None
    if new_end <= enrolment.end_date:
        raise tk.ValidationError(
            {"until": [tk._("The new end date must be after {end}.").format(end=_format(enrolment.end_date))]}
        )
    previous = enrolment.end_date
    enrolment.end_date = new_end
    history.record(
        organization.id,
        "extend",
        user_id,
        reason,
        **_snapshot(enrolment),
        previous_end_date=previous.isoformat(),
    )
    return enrolment


def end(organization: model.Group, user_id: str | None, reason: str = "") -> Enrolment:
    enrolment = _current(organization)
    if status_of(enrolment) in ENDED:
        raise tk.ValidationError(
            {
                "organization": [
                    tk._("The enrolment of {commune} has already ended.").format(commune=organization.title)
                ]
            }
        )
    enrolment.ended_on = today()
    history.record(organization.id, "end", user_id, reason, **_snapshot(enrolment))
    return enrolment


def make_permanent(organization: model.Group, user_id: str | None, reason: str = "") -> Enrolment:
    enrolment = _current(organization)
    if enrolment.permanent and enrolment.ended_on is None:
        raise tk.ValidationError(
            {
                "organization": [
                    tk._("{commune} is already a permanent member.").format(commune=organization.title)
                ]
            }
        )
    enrolment.permanent, enrolment.ended_on = True, None
    history.record(organization.id, "make_permanent", user_id, reason, **_snapshot(enrolment))
    return enrolment


def _snapshot(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "start_date": enrolment.start_date.isoformat(),
        "end_date": enrolment.end_date.isoformat(),
        "permanent": enrolment.permanent,
        "ended_on": enrolment.ended_on.isoformat() if enrolment.ended_on else None,
    }


def _current(organization: model.Group) -> Enrolment:
    enrolment = lock(organization.id)
    if enrolment is None:
        raise tk.ValidationError(
            {"organization": [tk._("{commune} is not enrolled.").format(commune=organization.title)]}
        )
    return enrolment


def dictize(
    organization: model.Group, enrolment: Enrolment | None, on: datetime.date | None = None
) -> dict[str, Any]:
    status = status_of(enrolment, on)
    return {
        "organization": organization.name,
        "organization_id": organization.id,
        "title": organization.title,
        "status": status.value,
        "status_label": status_label(status),
        "can_publish": status in PUBLISHING,
        "start_date": enrolment.start_date.isoformat() if enrolment else None,
        "end_date": enrolment.end_date.isoformat() if enrolment else None,
        "ended_on": enrolment.ended_on.isoformat() if enrolment and enrolment.ended_on else None,
        "permanent": bool(enrolment and enrolment.permanent),
        "days_left": days_left(enrolment, on),
    }

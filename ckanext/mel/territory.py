"""The territory at a glance, for the MEL console: totals, the progress towards
"100 % open data", and month by month the communes in their period and the
communes' public datasets, drawn as inline SVG charts (nothing is loaded from
elsewhere).

The communes' periods are replayed from mel_commune_history as they are known
now: an enrolment dated in the past counts from its start date, not from the day
it was recorded. Datasets count from their creation; those deleted since are
not counted at all, as their deletion date is not kept.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from babel.dates import format_date
from ckan import model

from ckanext.mel import enrolment
from ckanext.mel.model import CommuneHistory, Enrolment

# History entries that carry a snapshot of the enrolment (see enrolment._snapshot).
CHANGES = ("enrol", "re_enrol", "extend", "end", "make_permanent")


def at_target(row: dict[str, Any]) -> bool:
    return row["public_dataset_count"] >= row["quota_minimum"]


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures above the console's table. rows: mel_enrolment_list, unfiltered."""
    obliged = [row for row in rows if row["obligation"]]
    obliged_at_target = sum(1 for row in obliged if at_target(row))
    return {
        "communes": len(rows),
        "enrolled": sum(1 for row in rows if row["status"] in enrolment.ENROLLED),
        "publishing": sum(1 for row in rows if row["can_publish"]),
        "finished": sum(1 for row in rows if row["status"] in enrolment.ENDED),
        "not_enrolled": sum(1 for row in rows if row["status"] == enrolment.Status.NOT_ENROLLED),
        "at_target": sum(1 for row in rows if at_target(row)),
        "datasets": sum(row["dataset_count"] for row in rows),
        "public_datasets": sum(row["public_dataset_count"] for row in rows),
        "obliged": len(obliged),
        "obliged_publishing": sum(1 for row in obliged if row["public_dataset_count"] > 0),
        "obliged_at_target": obliged_at_target,
        # Rounded down: 100 % only when every obliged commune reaches the target.
        "progress": math.floor(100 * obliged_at_target / len(obliged)) if obliged else None,
    }


# Month by month


@dataclass(frozen=True)
class Period:
    start: datetime.date
    last: datetime.date | None  # the last day the commune could publish; None: permanent

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day and (self.last is None or day <= self.last)


def _day(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _period(start: Any, end: Any, permanent: bool, ended_on: Any) -> Period:
    """A period from an enrolment or a history snapshot (dates or ISO strings)."""
    last = enrolment.last_day(_day(end) if end else None, permanent, _day(ended_on) if ended_on else None)
    return Period(_day(start), last)


def periods(organization_ids: Iterable[str]) -> dict[str, list[Period]]:
    """Each commune's enrolment periods, oldest first, as known now."""
    ids = list(organization_ids)
    result: dict[str, list[Period]] = {organization_id: [] for organization_id in ids}
    entries = (
        model.Session.query(CommuneHistory)
        .filter(CommuneHistory.organization_id.in_(ids), CommuneHistory.action.in_(CHANGES))
        .order_by(CommuneHistory.timestamp, CommuneHistory.id)
    )
    for entry in entries:
        data = entry.data or {}
        if not data.get("start_date"):
            continue
        period = _period(
            data["start_date"],
            data.get("end_date"),
            data.get("permanent", False),
            data.get("ended_on"),
        )
        known = result[entry.organization_id]
        if entry.action in ("enrol", "re_enrol") or not known:
            known.append(period)
        else:
            known[-1] = period
    # The current enrolment is the truth about the last period.
    for current in model.Session.query(Enrolment).filter(Enrolment.organization_id.in_(ids)):
        known = result[current.organization_id]
        period = _period(current.start_date, current.end_date, current.permanent, current.ended_on)
        if known:
            known[-1] = period
        else:
            known.append(period)
    return result


def _public_dataset_days(organization_ids: Iterable[str]) -> list[datetime.date]:
    package = model.package_table
    query = sa.select(package.c.metadata_created).where(
        package.c.owner_org.in_(list(organization_ids)),
        package.c.state == "active",
        package.c.private.is_(False),
        package.c.type == "dataset",
    )
    return sorted(created.date() for (created,) in model.Session.execute(query))


def month_ends(first: datetime.date, today: datetime.date, least: int, most: int) -> list[datetime.date]:
    """The last day of each month from `first`'s to today's (today for the current
    month), at least `least` and at most `most` of them, the latest kept."""
    months = (today.year - first.year) * 12 + today.month - first.month + 1
    months = min(max(months, least), most)
    days = []
    for back in range(months - 1, -1, -1):
        year, month = divmod(today.year * 12 + today.month - back, 12)  # of the following month
        following = datetime.date(year, month + 1, 1)
        days.append(min(following - datetime.timedelta(days=1), today))
    return days


def timeline(
    organization_ids: Iterable[str],
    locale: str = "fr",
    today: datetime.date | None = None,
    least: int = 6,
    most: int = 24,
) -> list[dict[str, Any]]:
    """Per month: the communes in their period on its last day, and the public
    datasets created by then; months named in `locale`."""
    ids = list(organization_ids)
    today = today or enrolment.today()
    by_commune = periods(ids)
    created = _public_dataset_days(ids)
    starts = [p.start for known in by_commune.values() for p in known if p.start <= today]
    first = min(starts + created[:1] + [today])
    points = []
    for day in month_ends(first, today, least, most):
        points.append(
            {
                "day": day.isoformat(),
                "label": format_date(day, "MMM yyyy", locale=locale),
                "short_label": format_date(day, "MMM yy", locale=locale),
                "enrolled": sum(1 for known in by_commune.values() if any(p.covers(day) for p in known)),
                "datasets": bisect.bisect_right(created, day),
            }
        )
    return points


# Charts


def nice_step(maximum: int, ticks: int = 4) -> int:
    """A round step (1, 2, 5, 10, 20, 50…) for at most `ticks` intervals up to `maximum`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if math.ceil(maximum / (step * factor)) <= ticks:
                return step * factor
        step *= 10


def bar_chart(
    values: list[int], labels: list[str], width: int = 560, height: int = 220, label_count: int = 8
) -> dict[str, Any]:
    """The geometry of a bar chart, for templates/mel/snippets/bar_chart.html."""
    left, right, top, bottom = 44, 8, 12, 28
    plot_width, plot_height = width - left - right, height - top - bottom
    step = nice_step(max(values + [1]))
    top_value = step * max(1, math.ceil(max(values + [0]) / step))
    slot = plot_width / max(len(values), 1)
    every = max(1, math.ceil(len(values) / label_count))
    bars = []
    for index, (value, label) in enumerate(zip(values, labels, strict=False)):
        bar_height = plot_height * value / top_value
        bars.append(
            {
                "x": round(left + index * slot + slot * 0.15, 1),
                "y": round(top + plot_height - bar_height, 1),
                "width": round(slot * 0.7, 1),
                "height": round(bar_height, 1),
                "value": value,
                "label": label,
                # Labels of the last bar and of every `every`-th before it, so the latest is named.
                "show_label": (len(values) - 1 - index) % every == 0,
                "label_x": round(left + index * slot + slot / 2, 1),
            }
        )
    ticks = [
        {"value": value, "y": round(top + plot_height - plot_height * value / top_value, 1)}
        for value in range(0, top_value + 1, step)
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "baseline": top + plot_height,
        "label_y": height - 8,
        "bars": bars,
        "ticks": ticks,
    }


# The console's operations on one commune: those its enrolment's state allows.

OPERATIONS_BY_STATUS: dict[enrolment.Status, tuple[str, ...]] = {
    enrolment.Status.NOT_ENROLLED: ("enrol", "quota"),
    enrolment.Status.SCHEDULED: ("extend", "make_permanent", "end", "quota"),
    enrolment.Status.ACTIVE: ("extend", "make_permanent", "end", "quota"),
    enrolment.Status.EXPIRING_SOON: ("extend", "make_permanent", "end", "quota"),
    enrolment.Status.EXPIRED: ("enrol", "make_permanent", "quota"),
    enrolment.Status.ENDED_EARLY: ("enrol", "make_permanent", "quota"),
    enrolment.Status.PERMANENT: ("end", "quota"),
}


def allowed_operations(status: str) -> tuple[str, ...]:
    """What the console offers for a commune in this state (the actions refuse the rest)."""
    return OPERATIONS_BY_STATUS[enrolment.Status(status)]


# Form fields, as the console's labels name them, for its error messages.
def field_label(field: str) -> str:
    return {
        "start_date": tk._("Start date"),
        "end_date": tk._("End date"),
        "months": tk._("By months"),
        "until": tk._("Or until"),
        "maximum": tk._("Maximum"),
        "reason": tk._("Reason"),
    }.get(field, field)


def success_message(operation: str, title: str, shown: dict[str, Any], quota: dict[str, Any]) -> str:
    """What just happened, in words, with the period as it now stands."""
    from ckanext.mel.helpers import mel_date

    start, end = mel_date(shown.get("start_date")), mel_date(shown.get("end_date"))
    if operation == "enrol":
        text = tk._("{commune} is enrolled: its free period runs from {start} to {end}.")
    elif operation == "extend":
        text = tk._("The free period of {commune} is extended: it now ends on {end}.")
    elif operation == "end":
        text = tk._("The enrolment of {commune} ended on {ended}: its datasets stay public, read-only.")
    elif operation == "make_permanent":
        text = tk._("{commune} is now a permanent member: it publishes without an end date.")
    else:
        text = tk._("{commune} may now hold up to {maximum} datasets.")
    return text.format(
        commune=title,
        start=start,
        end=end,
        ended=mel_date(shown.get("ended_on")),
        maximum=quota.get("maximum"),
    )


# The console's export for spreadsheet software in French: `;`-separated (French
# Excel's list separator), UTF-8 with a BOM, French headers and values.

FRENCH_EXPORT_COLUMNS = (
    ("insee_code", "Code INSEE"),
    ("title", "Commune"),
    ("population", "Population"),
    ("obligation", "Obligation d'ouverture"),
    ("status_label", "Adhésion"),
    ("start_date", "Début"),
    ("end_date", "Fin"),
    ("days_left", "Jours restants"),
    ("dataset_count", "Jeux de données"),
    ("public_dataset_count", "Jeux publics"),
    ("quota_minimum", "Objectif"),
    ("quota_maximum", "Maximum"),
    ("at_target", "Objectif atteint"),
    ("quality_score", "Score qualité"),
    ("quality_rating_label", "Qualité"),
)


def french_value(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if value is None:
        return ""
    if key in ("start_date", "end_date") and value:
        day = value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value)[:10])
        return day.strftime("%d/%m/%Y")
    return value

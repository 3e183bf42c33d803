"""`ckan mel …`: the communes' reference data and their enrolment, for MEL staff."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
import click

__all__ = ["mel"]


def _context() -> dict[str, Any]:
    """Act as the site user: the CLI is run by the portal's operators."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site_user["name"], "ignore_auth": False}


def _call(action: str, **data_dict: Any) -> Any:
    try:
        return tk.get_action(action)(_context(), data_dict)
    except tk.ValidationError as error:
        messages = "; ".join(
            f"{field}: {' '.join(map(str, problems)) if isinstance(problems, list) else problems}"
            for field, problems in error.error_dict.items()
        )
        raise click.ClickException(messages) from None
    except tk.ObjectNotFound as error:
        raise click.ClickException(str(error) or "not found") from None


@click.group(short_help="MEL communes portal commands.")
def mel():
    pass


@mel.group()
def communes():
    """The 95 member communes."""


@communes.command("load")
def communes_load():
    """Create or refresh the MEL and its 95 communes from the shipped reference file.

    Idempotent: reference fields (name, INSEE code, SIREN, population, postcodes,
    boundary) are refreshed; description, logo, website and contact are never touched.
    """
    from ckanext.mel.communes import load_communes

    counts = load_communes(_context(), progress=click.echo)
    click.secho("{created} created, {updated} updated, {unchanged} unchanged".format(**counts), fg="green")


@mel.group()
def enrolment():
    """The communes' free enrolment."""


def _echo_enrolment(row: dict[str, Any]) -> None:
    days = f", {row['days_left']} days left" if row.get("days_left") is not None else ""
    period = f" {row['start_date']} → {row['end_date']}" if row.get("start_date") else ""
    click.echo(f"{row['title']}: {row['status']}{period}{days}")


@enrolment.command("create")
@click.argument("commune")
@click.option("--start", "start_date", help="First day, YYYY-MM-DD (default: today).")
@click.option("--end", "end_date", help="Last day, YYYY-MM-DD (default: start + 6 months).")
@click.option("--reason", default="", help="Why, kept in the history.")
def enrolment_create(commune: str, start_date: str | None, end_date: str | None, reason: str):
    """Enrol COMMUNE (name, id or INSEE code)."""
    data = {"organization": commune, "reason": reason}
    data.update({k: v for k, v in (("start_date", start_date), ("end_date", end_date)) if v})
    _echo_enrolment(_call("mel_enrolment_create", **data))


@enrolment.command("show")
@click.argument("commune")
def enrolment_show(commune: str):
    """COMMUNE's enrolment and its history."""
    row = _call("mel_enrolment_show", organization=commune, include_history=True)
    _echo_enrolment(row)
    for entry in row["history"]:
        reason = f" — {entry['reason']}" if entry["reason"] else ""
        click.echo(f"  {entry['timestamp'][:19]} {entry['action']} by {entry['user']}{reason}")


@enrolment.command("list")
@click.option("--status", help="Only communes in this status (active, expired, …).")
def enrolment_list(status: str | None):
    """Every commune and its enrolment."""
    for row in _call("mel_enrolment_list", **({"status": status} if status else {})):
        _echo_enrolment(row)


@enrolment.command("extend")
@click.argument("commune")
@click.option("--months", type=int, help="Extend by this many months.")
@click.option("--until", help="Extend to this day, YYYY-MM-DD.")
@click.option("--reason", default="")
def enrolment_extend(commune: str, months: int | None, until: str | None, reason: str):
    """Move COMMUNE's end date."""
    data: dict[str, Any] = {"organization": commune, "reason": reason}
    if months is not None:
        data["months"] = months
    if until:
        data["until"] = until
    _echo_enrolment(_call("mel_enrolment_extend", **data))


@enrolment.command("end")
@click.argument("commune")
@click.option("--reason", default="")
def enrolment_end(commune: str, reason: str):
    """End COMMUNE's enrolment today."""
    _echo_enrolment(_call("mel_enrolment_end", organization=commune, reason=reason))


@enrolment.command("make-permanent")
@click.argument("commune")
@click.option("--reason", default="")
def enrolment_make_permanent(commune: str, reason: str):
    """Make COMMUNE a permanent member."""
    _echo_enrolment(_call("mel_enrolment_make_permanent", organization=commune, reason=reason))


@enrolment.command("notify")
def enrolment_notify():
    """Email the communes whose period ends in 30 or 7 days, or has ended. Safe to run daily."""
    result = _call("mel_enrolment_notify")
    click.echo(f"{len(result['sent'])} notification(s) sent")
    for line in result["sent"]:
        click.echo(f"  {line['organization']}: {line['kind']} → {', '.join(line['recipients'])}")


@mel.group()
def search():
    """The search index."""


@search.command("reconcile")
@click.option("--dry-run", is_flag=True, help="Only report where the index and the database differ.")
def search_reconcile(dry_run: bool):
    """Make Solr agree with the database: remove orphan entries, index missing or stale datasets.

    Runs by itself when the scheduler starts and every quarter of an hour.
    """
    from ckanext.mel.reconcile import reconcile

    report = reconcile(dry_run=dry_run)
    click.echo(f"{report.database} dataset(s) in the database, {report.indexed} in the index")
    verb = "found" if dry_run else "fixed"
    for label, ids in (("orphan(s)", report.orphans), ("missing", report.missing), ("stale", report.stale)):
        click.echo(f"{len(ids)} {label} {verb}" + (f": {', '.join(ids)}" if ids else ""))
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} could not be fixed: {', '.join(report.failed)}")


@mel.command("scheduler")
@click.option("--once", is_flag=True, help="Queue the jobs due now and exit (for cron).")
def scheduler(once: bool):
    """Queue the portal's recurring jobs (daily reminders, nightly jobs) when they are due.

    Runs in the foreground beside `ckan jobs worker`; several may run (one per app
    server): each run of a job is queued once.
    """
    from ckanext.mel import scheduler as recurring

    if once:
        for name in recurring.queue_due_jobs():
            click.echo(f"queued {name}")
        return
    recurring.run_forever()


@mel.command("consolidate")
@click.argument("data_model", required=False)
def consolidate(data_model: str | None):
    """Rebuild the metropolitan dataset of DATA_MODEL (default: every model) from scratch."""
    from ckanext.mel.consolidation.cli import run

    run(data_model)

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
def demo():
    """Demo data for `make run`."""


# The four communes that opened first (7 November 2017), and one whose free
# period is over, to show the read-only state.
DEMO_ACTIVE = ("armentieres", "ennetieres-en-weppes", "lille", "villeneuve-d-ascq")
DEMO_EXPIRED = "la-madeleine"


@demo.command("enrolments")
def demo_enrolments():
    """Enrol the first four communes from today, and one commune in the past (expired)."""
    import datetime

    from dateutil.relativedelta import relativedelta

    today = datetime.date.today()
    for name in DEMO_ACTIVE:
        current = _call("mel_enrolment_show", organization=name)
        if not current["can_publish"]:
            current = _call("mel_enrolment_create", organization=name, reason="Démonstration")
        _echo_enrolment(current)
    expired = _call("mel_enrolment_show", organization=DEMO_EXPIRED)
    if expired["status"] == "not_enrolled":
        start = today - relativedelta(months=8)
        expired = _call(
            "mel_enrolment_create",
            organization=DEMO_EXPIRED,
            start_date=start.isoformat(),
            reason="Démonstration : période gratuite terminée",
        )
    _echo_enrolment(expired)


@demo.command("datasets")
def demo_datasets():
    """The ten datasets of the first four communes, with their sample files, checked.

    Idempotent: a second run refreshes the metadata and uploads changed samples only.
    """
    from ckanext.mel.demo import load_demo_datasets

    try:
        counts = load_demo_datasets(_context(), progress=click.echo)
    except (tk.ObjectNotFound, tk.ValidationError) as error:
        raise click.ClickException(str(error)) from None
    summary = "{created} created, {updated} updated, {invalid} not valid".format(**counts)
    click.secho(summary, fg="green")


@demo.command("agent")
@click.argument("name")
@click.argument("password")
@click.option("--commune", default="lille", show_default=True)
def demo_agent(name: str, password: str, commune: str):
    """A commune agent account NAME (editor of the commune), created if missing."""
    from ckan import model

    if model.User.get(name) is None:
        _call(
            "user_create",
            name=name,
            password=password,
            email=f"{name}@localhost",
            fullname=f"Agent ({commune})",
        )
    _call("organization_member_create", id=commune, username=name, role="editor")
    click.echo(f"{name}: editor of {commune}")


@demo.command("load")
@click.option("--sysadmin", nargs=2, metavar="NAME PASSWORD", help="Create this sysadmin if missing.")
@click.option("--agent", nargs=2, metavar="NAME PASSWORD", help="Create this agent of Lille if missing.")
@click.pass_context
def demo_load(ctx: click.Context, sysadmin: tuple[str, str] | None, agent: tuple[str, str] | None):
    """All of the demo in one go: communes, enrolments, datasets, accounts."""
    from ckan import model

    if sysadmin:
        name, password = sysadmin
        if model.User.get(name) is None:
            _call("user_create", name=name, password=password, email=f"{name}@localhost")
        user = model.User.get(name)
        if not user.sysadmin:
            user.sysadmin = True
            model.repo.commit()
        click.echo(f"{name}: sysadmin")
    ctx.invoke(communes_load)
    ctx.invoke(demo_enrolments)
    ctx.invoke(demo_datasets)
    if agent:
        ctx.invoke(demo_agent, name=agent[0], password=agent[1], commune="lille")

"""`ckan mel-demo …`: the demo data of `make run` (plugin `mel_demo`, never loaded in production).

The accounts' passwords come from the environment (MEL_ADMIN_PASSWORD, MEL_AGENT_PASSWORD, as
scripts/run.sh sets them) or a prompt, never from the command line, which `ps` shows to everyone.
"""

from __future__ import annotations

import datetime
import os

import ckan.plugins.toolkit as tk
import click
from ckan import model
from dateutil.relativedelta import relativedelta

# The production CLI's way of calling an action as the site user, and of printing an enrolment.
from ckanext.mel.cli import _call, _context, _echo_enrolment, communes_load

__all__ = ["mel_demo"]

# The four communes that opened first (7 November 2017), and one whose free
# period is over, to show the read-only state.
DEMO_ACTIVE = ("armentieres", "ennetieres-en-weppes", "lille", "villeneuve-d-ascq")
DEMO_EXPIRED = "la-madeleine"


@click.group("mel-demo", short_help="Demo data of the MEL communes portal (make run).")
def mel_demo():
    pass


@mel_demo.command("enrolments")
def demo_enrolments():
    """Enrol the first four communes from today, and one commune in the past (expired)."""
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


@mel_demo.command("datasets")
def demo_datasets():
    """The ten datasets of the first four communes, then the MEL's own, with their sample files, checked.

    Idempotent: a second run refreshes the metadata and uploads changed samples only.
    """
    from ckanext.mel.demo import load_demo_datasets, metropolitan_datasets

    for entries in (None, metropolitan_datasets()):
        try:
            counts = load_demo_datasets(_context(), progress=click.echo, entries=entries)
        except (tk.ObjectNotFound, tk.ValidationError) as error:
            raise click.ClickException(str(error)) from None
        summary = "{created} created, {updated} updated, {invalid} not valid".format(**counts)
        click.secho(summary, fg="green")


@mel_demo.command("reuses")
def demo_reuses():
    """The six fictional reuses of the demo datasets, published."""
    from ckanext.mel.demo import load_demo_reuses

    try:
        counts = load_demo_reuses(_context(), progress=click.echo)
    except (tk.ObjectNotFound, tk.ValidationError) as error:
        raise click.ClickException(str(error)) from None
    click.secho("{created} created, {updated} updated".format(**counts), fg="green")


@mel_demo.command("agent")
@click.argument("name")
@click.option("--commune", default="lille", show_default=True)
def demo_agent(name: str, commune: str):
    """A commune agent account NAME (editor of the commune), created if missing.

    Its password is MEL_AGENT_PASSWORD (asked if unset).
    """
    if model.User.get(name) is None:
        _call(
            "user_create",
            name=name,
            password=_password("MEL_AGENT_PASSWORD", name),
            email=f"{name}@localhost",
            fullname=f"Agent ({commune})",
        )
    _call("organization_member_create", id=commune, username=name, role="editor")
    click.echo(f"{name}: editor of {commune}")


def _sysadmin(name: str) -> None:
    if model.User.get(name) is None:
        password = _password("MEL_ADMIN_PASSWORD", name)
        _call("user_create", name=name, password=password, email=f"{name}@localhost")
    user = model.User.get(name)
    if not user.sysadmin:
        user.sysadmin = True
        model.repo.commit()
    click.echo(f"{name}: sysadmin")


def _password(variable: str, name: str) -> str:
    return os.environ.get(variable) or click.prompt(f"Password of {name}", hide_input=True)


@mel_demo.command("load")
@click.option("--sysadmin", metavar="NAME", help="Create this sysadmin if missing.")
@click.option("--agent", metavar="NAME", help="Create this agent of Lille if missing.")
@click.pass_context
def demo_load(ctx: click.Context, sysadmin: str | None, agent: str | None):
    """All of the demo in one go: communes, enrolments, datasets, reuses, accounts.

    The accounts' passwords are MEL_ADMIN_PASSWORD and MEL_AGENT_PASSWORD (asked if unset).
    """
    if sysadmin:
        _sysadmin(sysadmin)
    ctx.invoke(communes_load)
    ctx.invoke(demo_enrolments)
    ctx.invoke(demo_datasets)
    ctx.invoke(demo_reuses)
    if agent:
        ctx.invoke(demo_agent, name=agent, commune="lille")

"""`ckan mel enrolment …`: what an operator types, through CKAN's own command line
(the `cli` fixture runs `ckan` in this process, against the test database)."""

import datetime as dt

import pytest
from ckan.cli.cli import ckan
from ckan.tests.helpers import call_action

pytestmark = pytest.mark.usefixtures("clean_db")


def _run(cli, *arguments):
    return cli.invoke(ckan, ["mel", "enrolment", *arguments])


def _ok(cli, *arguments):
    result = _run(cli, *arguments)
    assert result.exit_code == 0, result.output
    return result.output


def test_create_enrols_a_commune_named_by_its_insee_code_with_the_dates_given(cli, commune):
    output = _ok(
        cli,
        "create",
        commune["insee_code"],
        "--start",
        "2030-01-31",
        "--end",
        "2030-07-30",
        "--reason",
        "Conv.",
    )
    assert output.startswith(f"{commune['title']}: scheduled 2030-01-31 → 2030-07-30, ")
    assert output.strip().endswith(" days left")
    shown = call_action("mel_enrolment_show", organization=commune["id"], include_history=True)
    assert (shown["start_date"], shown["end_date"], shown["status"]) == (
        "2030-01-31",
        "2030-07-30",
        "scheduled",
    )
    assert [(h["action"], h["reason"]) for h in shown["history"]] == [("enrol", "Conv.")]


def test_create_defaults_to_six_months_from_today(cli, commune):
    output = _ok(cli, "create", commune["name"])
    shown = call_action("mel_enrolment_show", organization=commune["id"])
    assert shown["status"] == "active"
    assert shown["start_date"] == dt.date.today().isoformat()
    assert f"{commune['title']}: active {shown['start_date']} → {shown['end_date']}" in output


def test_show_prints_the_status_and_the_history_with_who_and_why(cli, commune):
    _ok(cli, "create", commune["name"], "--reason", "Convention signée")
    _ok(cli, "extend", commune["name"], "--months", "2", "--reason", "Délibération")
    lines = _ok(cli, "show", commune["name"]).splitlines()
    site_user = call_action("get_site_user")["name"]
    assert lines[0].startswith(f"{commune['title']}: active ")
    assert lines[1].endswith(f" enrol by {site_user} — Convention signée")
    assert lines[2].endswith(f" extend by {site_user} — Délibération")
    assert len(lines) == 3


def test_extend_by_months_or_until_a_day(cli, commune):
    _ok(cli, "create", commune["name"], "--start", "2030-01-31")
    assert "2030-01-31 → 2030-08-31, " in _ok(cli, "extend", commune["name"], "--months", "1")
    assert "2030-01-31 → 2031-01-15, " in _ok(cli, "extend", commune["name"], "--until", "2031-01-15")
    assert call_action("mel_enrolment_show", organization=commune["id"])["end_date"] == "2031-01-15"


def test_end_makes_the_commune_read_only_today(cli, commune):
    _ok(cli, "create", commune["name"])
    output = _ok(cli, "end", commune["name"], "--reason", "Demande de la mairie")
    assert output.startswith(f"{commune['title']}: ended_early ")
    shown = call_action("mel_enrolment_show", organization=commune["id"], include_history=True)
    assert shown["status"] == "ended_early"
    assert shown["history"][-1]["action"] == "end"
    assert shown["history"][-1]["reason"] == "Demande de la mairie"


def test_make_permanent(cli, commune):
    _ok(cli, "create", commune["name"])
    output = _ok(cli, "make-permanent", commune["name"], "--reason", "Adhésion")
    assert output.startswith(f"{commune['title']}: permanent")
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "permanent"


def test_list_prints_every_commune_and_filters_by_status(cli, commune_factory):
    enrolled = commune_factory(title="Lille")
    commune_factory(title="Wattrelos")
    _ok(cli, "create", enrolled["name"])
    every = _ok(cli, "list").splitlines()
    assert any(line.startswith("Lille: active ") for line in every)
    assert "Wattrelos: not_enrolled" in every
    active = _ok(cli, "list", "--status", "active").splitlines()
    assert any(line.startswith("Lille: active ") for line in active)
    assert not any(line.startswith("Wattrelos") for line in active)


def test_a_refusal_is_a_message_and_a_failing_exit_code_not_a_traceback(cli, commune):
    # Extending a commune that was never enrolled: the action's ValidationError,
    # turned into a one-line error for the operator.
    result = _run(cli, "extend", commune["name"], "--months", "1")
    assert result.exit_code == 1
    assert result.output.startswith("Error: organization: ")
    assert "Traceback" not in result.output
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "not_enrolled"


def test_an_unknown_commune_is_not_found(cli):
    result = _run(cli, "show", "atlantis")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


def test_a_bad_date_is_refused_and_nothing_is_written(cli, commune):
    result = _run(cli, "create", commune["name"], "--start", "31/01/2030")
    assert result.exit_code == 1
    assert result.output.startswith("Error: start_date: ")
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "not_enrolled"

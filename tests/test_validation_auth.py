"""Who may read a file's validation report (`mel_validation_show`: whoever may see
the resource) and who may have it checked again (`mel_validation_run`: whoever
may change it), for a public and a private dataset of an enrolled commune."""

import datetime as dt

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests import factories
from ckan.tests.helpers import call_action, call_auth

pytestmark = pytest.mark.usefixtures("clean_db")


def _allowed(action, user, resource):
    context = {"user": user["name"] if user else "", "model": model}
    try:
        return call_auth(action, context, id=resource["id"])
    except tk.NotAuthorized:
        return False


@pytest.fixture
def people(enrolled_commune, commune_factory, mel_staff):
    """The commune's editor, an editor of another commune, MEL staff, a sysadmin."""
    other = commune_factory()
    call_action("mel_enrolment_create", organization=other["id"])
    stranger = factories.User()
    call_action("organization_member_create", id=other["id"], username=stranger["name"], role="editor")
    return {
        "editor": enrolled_commune["editor"],
        "other_editor": stranger,
        "staff": mel_staff,
        "sysadmin": factories.Sysadmin(),
        "anonymous": None,
    }


def _resource(commune, private):
    dataset = factories.Dataset(owner_org=commune["id"], private=private)
    return factories.Resource(package_id=dataset["id"], url="http://example.org/ecoles.csv", format="CSV")


def test_a_public_resource_s_report_is_for_everyone(enrolled_commune, people):
    resource = _resource(enrolled_commune, private=False)
    for who, user in people.items():
        assert _allowed("mel_validation_show", user, resource), who


def test_a_private_resource_s_report_is_for_its_commune_only(enrolled_commune, people):
    resource = _resource(enrolled_commune, private=True)
    seen = {who: _allowed("mel_validation_show", user, resource) for who, user in people.items()}
    assert seen == {
        "editor": True,
        "other_editor": False,
        "staff": False,  # MEL staff are not members of the commune: core's package_show decides
        "sysadmin": True,
        "anonymous": False,
    }


@pytest.mark.parametrize("private", [False, True])
def test_a_check_is_run_again_by_who_may_edit_the_resource(enrolled_commune, people, private):
    resource = _resource(enrolled_commune, private=private)
    ran = {
        who: _allowed("mel_validation_run", user, resource) for who, user in people.items() if who != "staff"
    }
    assert ran == {"editor": True, "other_editor": False, "sysadmin": True, "anonymous": False}


def test_once_ended_the_editor_reads_the_report_but_cannot_run_a_check(enrolled_commune, people):
    resource = _resource(enrolled_commune, private=True)
    call_action("mel_enrolment_end", organization=enrolled_commune["id"])
    editor = people["editor"]
    assert _allowed("mel_validation_show", editor, resource)
    with pytest.raises(tk.NotAuthorized) as refused:
        call_auth("mel_validation_run", {"user": editor["name"], "model": model}, id=resource["id"])
    # The enrolment's refusal (the commune and the day it ended), not core's "not a member".
    message = str(refused.value)
    assert enrolled_commune["title"] in message
    assert dt.date.today().strftime("%d/%m/%Y") in message
    assert _allowed("mel_validation_run", people["sysadmin"], resource)


def test_the_action_itself_refuses_an_anonymous_run(enrolled_commune):
    resource = _resource(enrolled_commune, private=False)
    with pytest.raises(tk.NotAuthorized):
        call_action("mel_validation_run", context={"user": "", "ignore_auth": False}, id=resource["id"])


def test_the_action_itself_hides_a_private_report_from_another_commune(enrolled_commune, people):
    resource = _resource(enrolled_commune, private=True)
    context = {"user": people["other_editor"]["name"], "ignore_auth": False}
    with pytest.raises(tk.NotAuthorized):
        call_action("mel_validation_show", context=context, id=resource["id"])

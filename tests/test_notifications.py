"""Reminders as the free period ends: 30 days, 7 days, expiry; each once."""

import email

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from freezegun import freeze_time


def _notify():
    return call_action("mel_enrolment_notify")["sent"]


def _bodies(mail_server):
    messages = [email.message_from_string(m[3]) for m in mail_server.get_smtp_messages()]
    return [(m["To"], m["Subject"], m.get_payload(decode=True).decode("utf-8")) for m in messages]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_each_notice_is_sent_once_to_the_communes_admins(commune, mail_server):
    admin = factories.User(email="maire@commune.fr")
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    editor = factories.User(email="agent@commune.fr")
    call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-01-10"):
        factories.Dataset(owner_org=commune["id"])

    sent_on = {}
    for day in (
        "2018-03-01",
        "2018-04-07",
        "2018-04-08",
        "2018-04-30",
        "2018-05-01",
        "2018-05-08",
        "2018-05-09",
    ):
        with freeze_time(day):
            sent_on[day] = [n["kind"] for n in _notify()]
    assert sent_on == {
        "2018-03-01": [],
        "2018-04-07": ["30_days"],
        "2018-04-08": [],
        "2018-04-30": ["7_days"],
        "2018-05-01": [],
        "2018-05-08": ["expired"],
        "2018-05-09": [],
    }
    mails = _bodies(mail_server)
    assert len(mails) == 3
    assert all("maire@commune.fr" in to for to, _subject, _body in mails)
    assert not any("agent@commune.fr" in to for to, _subject, _body in mails)
    _to, subject, body = mails[0]
    assert commune["title"] in subject and "07/05/2018" in subject
    assert "1 of the 3 datasets" in body and "5 at most" in body

    history = call_action("mel_enrolment_show", organization=commune["id"], include_history=True)["history"]
    assert [h["kind"] for h in history if h["action"] == "notify"] == ["30_days", "7_days", "expired"]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_an_extension_arms_the_reminders_again(commune, mail_server):
    admin = factories.User(email="maire@commune.fr")
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-04-10"):
        assert [n["kind"] for n in _notify()] == ["30_days"]
        call_action("mel_enrolment_extend", organization=commune["id"], months=1)
        assert _notify() == []
    with freeze_time("2018-05-10"):
        assert [n["kind"] for n in _notify()] == ["30_days"]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_commune_without_admins_is_written_to_at_its_contact_address(commune_factory, mail_server):
    commune = commune_factory(contact_email="mairie@village.fr")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-05-01"):
        assert _notify()[0]["recipients"] == ["mairie@village.fr"]

"""Reminders as the free period ends: 30 days, 7 days, expiry; each once."""

import email
from email.header import decode_header, make_header
from unittest import mock

import ckan.plugins.toolkit as tk
import pytest
from ckan.lib import mailer
from ckan.tests import factories
from ckan.tests.helpers import call_action
from freezegun import freeze_time

from ckanext.mel import notifications


def _notify():
    return call_action("mel_enrolment_notify")["sent"]


def _bodies(mail_server):
    messages = [email.message_from_string(m[3]) for m in mail_server.get_smtp_messages()]
    return [
        (m["To"], str(make_header(decode_header(m["Subject"]))), m.get_payload(decode=True).decode("utf-8"))
        for m in messages
    ]


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
    # In the portal's language (ckan.locale_default = fr), although no request is being served.
    assert "publie 1 des 3 jeux de données visés" in body and "5 au maximum" in body

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


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_reminder_is_plain_text_with_the_commune_named_as_written(commune_factory, mail_server):
    """The templates (templates/mel/emails/) escape nothing: an email is no HTML page."""
    commune = commune_factory(title="Villeneuve-d'Ascq", contact_email="mairie@villeneuvedascq.fr")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-05-08"):
        assert _notify()[0]["kind"] == "expired"
    (_to, subject, body), *_ = _bodies(mail_server)
    assert subject == "Villeneuve-d'Ascq : la période gratuite s'est terminée le 07/05/2018"
    paragraphs = body.strip().split("\n\n")
    assert paragraphs[0].startswith("La période gratuite de Villeneuve-d'Ascq sur le portail open data")
    assert paragraphs[1] == (
        "Villeneuve-d'Ascq publie 0 des 3 jeux de données visés (0 au total, 5 au maximum)."
    )
    assert paragraphs[-1] == tk.config.get("ckan.site_url")
    assert "&#39;" not in subject + body


# What was really delivered (issue #11, points 2 and 9)


def _commune_with_admin(commune, email_address="maire@commune.fr"):
    admin = factories.User(email=email_address)
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    return admin


def _notices(commune_id):
    history = call_action(
        "mel_enrolment_show",
        context={"user": factories.Sysadmin()["name"]},
        organization=commune_id,
        include_history=True,
    )["history"]
    return [h for h in history if h["action"] == "notify"]


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_history_shows_addresses_to_mel_staff_only(commune, mel_staff, mail_server, app):
    _commune_with_admin(commune)
    with freeze_time("2018-04-07"):
        _notify()

    def history_as(user):
        context = {"user": user["name"]} if user else {}
        shown = call_action(
            "mel_enrolment_show", context=context, organization=commune["id"], include_history=True
        )
        return [h for h in shown["history"] if h["action"] == "notify"]

    for viewer in (None, factories.User(), commune_admin_of(commune)):
        (entry,) = history_as(viewer)
        assert entry["kind"] == "30_days" and entry["recipient_count"] == 1
        assert "maire@commune.fr" not in str(entry)
    (entry,) = history_as(mel_staff)
    assert entry["recipients"] == ["maire@commune.fr"]
    # Over HTTP, as anonymous.
    response = app.get(
        f"/api/3/action/mel_enrolment_show?organization={commune['name']}&include_history=true"
    )
    assert response.status_code == 200 and "maire@commune.fr" not in response.body


def commune_admin_of(commune):
    admin = factories.User()
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    return admin


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_notice_with_nobody_to_reach_is_not_recorded_and_comes_again(commune, mail_server):
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-04-07"):
        result = call_action("mel_enrolment_notify")
    assert result["sent"] == []
    assert result["unreachable"] == [{"organization": commune["name"], "kind": "30_days"}]
    assert _notices(commune["id"]) == []
    # An admin joins: the next run reaches them.
    admin = factories.User(email="nouveau@commune.fr")
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    with freeze_time("2018-04-08"):
        assert [(n["kind"], n["recipients"]) for n in _notify()] == [("30_days", ["nouveau@commune.fr"])]
    assert len(mail_server.get_smtp_messages()) == 1


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("smtp.server", "127.0.0.1:1")
def test_a_mail_server_down_is_a_clear_error_and_nothing_is_recorded(commune_factory):
    first, second = commune_factory(), commune_factory()
    _commune_with_admin(first, "a@first.fr")
    _commune_with_admin(second, "b@second.fr")
    with freeze_time("2018-04-07"), pytest.raises(tk.ValidationError) as raised:
        call_action("mel_enrolment_notify")
    message = raised.value.error_dict["mail"][0]
    # Both communes were tried: a failure does not stop the loop.
    assert first["name"] in message and second["name"] in message
    assert "next run" in message
    assert _notices(first["id"]) == [] and _notices(second["id"]) == []


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_what_failed_is_tried_again_on_the_next_run(commune_factory, mail_server):
    first, second = commune_factory(), commune_factory()
    _commune_with_admin(first, "a@first.fr")
    _commune_with_admin(second, "b@second.fr")
    delivered = []
    real_send = mailer.mail_recipient

    def refuse_second(name, address, subject, body, **kwargs):
        # The real SMTP path for the first; the second address refused as a server would.
        if address == "b@second.fr":
            raise mailer.MailerException("550 mailbox unavailable")
        delivered.append(address)
        return real_send(name, address, subject, body, **kwargs)

    with freeze_time("2018-04-07"):
        with mock.patch.object(mailer, "mail_recipient", refuse_second), pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_notify")
        assert delivered == ["a@first.fr"]
        assert [n["recipients"] for n in _notices(first["id"])] == [["a@first.fr"]]
        assert _notices(second["id"]) == []
    with freeze_time("2018-04-08"):
        sent = _notify()
    assert sent == [{"organization": second["name"], "kind": "30_days", "recipients": ["b@second.fr"]}]
    assert len(mail_server.get_smtp_messages()) == 2


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("smtp.server", "127.0.0.1:1")
def test_the_daily_job_survives_a_mail_server_down(commune):
    from ckanext.mel.notifications import send_due_reminders_job

    _commune_with_admin(commune)
    with freeze_time("2018-04-07"):
        send_due_reminders_job()
    assert _notices(commune["id"]) == []


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckan.locale_default", "en")
def test_a_portal_in_english_writes_its_reminders_in_english(commune, mail_server):
    _commune_with_admin(commune)
    with freeze_time("2018-05-08"):
        notifications.send_due_reminders_job()
    (_to, subject, body), *_ = _bodies(mail_server)
    assert subject == f"{commune['title']}: the free period ended on 07/05/2018"
    assert "publishes 0 of the 3 datasets it aims for" in body

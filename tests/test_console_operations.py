"""The MEL console (issue #17, "Administering"): only the operations the enrolment's
state allows, a confirmation before ending, messages that say what happened in
French with French dates, a search box, the members, and a French spreadsheet export."""

import csv
import datetime
import html
import io
import re

import pytest
from ckan.tests.helpers import call_action

from tests.helpers import auth_header, csrf_token

pytestmark = pytest.mark.usefixtures("clean_db")


def _forms(page):
    return set(re.findall(r'<form method="post" action="[^"]+/(\w+)" class="mel-operation', page))


def _post(app, staff, commune, operation, **data):
    headers = auth_header(staff)
    token = csrf_token(app.get(f"/ckan-admin/communes/{commune['name']}", headers=headers).body)
    return app.post(
        f"/ckan-admin/communes/{commune['name']}/{operation}",
        data={"_csrf_token": token, **data},
        headers=headers,
        follow_redirects=True,
    )


def test_only_the_operations_the_state_allows(app, commune, mel_staff):
    url, headers = f"/ckan-admin/communes/{commune['name']}", auth_header(mel_staff)
    assert _forms(app.get(url, headers=headers).body) == {"enrol", "quota"}
    call_action("mel_enrolment_create", organization=commune["id"])
    assert _forms(app.get(url, headers=headers).body) == {"extend", "make_permanent", "end", "quota"}
    call_action("mel_enrolment_end", organization=commune["id"])
    assert _forms(app.get(url, headers=headers).body) == {"enrol", "make_permanent", "quota"}


def test_ending_needs_a_confirmation_then_shows_the_true_period(app, commune, mel_staff):
    call_action("mel_enrolment_create", organization=commune["id"])
    page = _post(app, mel_staff, commune, "end", reason="Demande de la commune")
    assert "Cochez la case" in html.unescape(page.body)
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "active"
    page = _post(app, mel_staff, commune, "end", confirm="yes")
    text = html.unescape(page.body)
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "ended_early"
    today = datetime.date.today()
    assert f"s'est terminée le {today.day}" in text
    period = re.search(r'id="mel-console-period">(.*?)</dd>', text, re.S).group(1)
    assert period.strip().endswith(f"{today.year}.")  # "Du … au <today>."
    assert "Enregistré." not in text


def test_messages_name_the_fields_in_french(app, commune, mel_staff):
    page = _post(app, mel_staff, commune, "enrol", start_date="2030-03-01", end_date="2030-01-01")
    text = html.unescape(page.body)
    assert "end_date:" not in text
    assert "Date de fin : " in text


def test_success_says_what_happened_with_a_french_date(app, commune, mel_staff):
    page = _post(app, mel_staff, commune, "enrol", start_date="2030-01-31", end_date="2030-07-31")
    text = html.unescape(page.body)
    assert "sa période gratuite court du 31 janvier 2030 au 31 juillet 2030" in text
    page = _post(app, mel_staff, commune, "extend", months="1")
    assert "elle se termine désormais le 31 août 2030" in html.unescape(page.body)
    history = html.unescape(page.body).split("Historique")[-1]
    assert "2030-" not in history and not re.search(r"[a-zéû]+ \d{1,2}, 20\d\d", history)


def test_console_search_box_and_members_link(app, commune_factory, mel_staff):
    lille = commune_factory(name="lille", title="Lille", insee_code="59350")
    commune_factory(name="roubaix", title="Roubaix", insee_code="59512")
    page = app.get("/ckan-admin/communes", query_string={"q": "lil"}, headers=auth_header(mel_staff)).body
    assert 'data-commune="lille"' in page and 'data-commune="roubaix"' not in page
    page = app.get("/ckan-admin/communes", query_string={"q": "59512"}, headers=auth_header(mel_staff)).body
    assert 'data-commune="roubaix"' in page and 'data-commune="lille"' not in page
    page = app.get(f"/ckan-admin/communes/{lille['name']}", headers=auth_header(mel_staff)).body
    assert f'href="/organization/members/{lille["name"]}"' in page


def test_french_spreadsheet_export(app, commune_factory, mel_staff):
    lille = commune_factory(name="lille", title="Lille", insee_code="59350", population=236000)
    call_action(
        "mel_enrolment_create", organization=lille["id"], start_date="2030-01-31", end_date="2030-07-31"
    )
    response = app.get("/ckan-admin/communes-fr.csv", headers=auth_header(mel_staff))
    assert response.headers["Content-Type"].startswith("text/csv")
    body = response.body
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    header, row = rows[0], rows[1]
    assert header[:5] == ["Code INSEE", "Commune", "Population", "Obligation d'ouverture", "Adhésion"]
    values = dict(zip(header, row, strict=False))
    assert values["Obligation d'ouverture"] == "oui"
    assert values["Début"] == "31/01/2030" and values["Fin"] == "31/07/2030"
    assert values["Objectif atteint"] == "non"
    assert "True" not in body and "active" not in body
    # The console links both exports, each named for what it is.
    page = app.get("/ckan-admin/communes", headers=auth_header(mel_staff)).body
    assert 'href="/ckan-admin/communes-fr.csv"' in page and 'href="/ckan-admin/communes.csv"' in page

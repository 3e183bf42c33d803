"""The pages: the public communes list, the commune banner, the MEL console."""

import csv
import html
import io

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import api_token, csrf_token, login


def _auth(user):
    return {"Authorization": api_token(user["name"])}


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestPublicPages:
    def test_the_communes_page_lists_every_commune_with_its_status(self, app, commune_factory):
        enrolled = commune_factory(title="Lille")
        commune_factory(title="Wattrelos")
        call_action("mel_enrolment_create", organization=enrolled["id"])
        page = app.get("/communes")
        assert "Lille" in page.body and "Wattrelos" in page.body
        assert 'class="mel-status-active"' in page.body
        assert 'class="mel-status-not_enrolled"' in page.body

    def test_a_commune_page_shows_its_period_and_datasets(self, app, enrolled_commune):
        factories.Dataset(owner_org=enrolled_commune["id"])
        page = app.get(f"/organization/{enrolled_commune['name']}", headers=_auth(enrolled_commune["editor"]))
        assert "mel-commune-banner" in page.body
        assert "1 / 5" in page.body
        assert f"/dataset/new?group={enrolled_commune['id']}" in page.body

    def test_at_the_limit_add_dataset_gives_way_to_an_explanation(self, app, enrolled_commune):
        for _ in range(5):
            factories.Dataset(owner_org=enrolled_commune["id"])
        page = app.get(f"/organization/{enrolled_commune['name']}", headers=_auth(enrolled_commune["editor"]))
        assert "5 / 5" in page.body
        assert "mel-quota-full" in page.body
        assert f"/dataset/new?group={enrolled_commune['id']}" not in page.body

    def test_a_dataset_page_shows_its_commune_s_card(self, app, commune_factory):
        commune = commune_factory(title="Wattrelos", description="La ville publie ses données ouvertes.")
        dataset = factories.Dataset(owner_org=commune["id"])
        page = app.get(f"/dataset/{dataset['name']}")
        card = page.body.split('id="organization-info"', 1)[1].split("</section>", 1)[0]
        assert "Wattrelos" in card and "La ville publie ses données ouvertes." in card
        assert f"/organization/about/{commune['name']}" in card

    def test_an_ended_commune_page_says_why_it_is_read_only(self, app, enrolled_commune):
        call_action("mel_enrolment_end", organization=enrolled_commune["id"])
        page = app.get(f"/organization/{enrolled_commune['name']}", headers=_auth(enrolled_commune["editor"]))
        assert "mel-read-only" in page.body
        assert f"/dataset/new?group={enrolled_commune['id']}" not in page.body


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestConsole:
    def test_only_mel_staff_reach_it(self, app, enrolled_commune, mel_staff):
        app.get("/ckan-admin/communes", status=403)
        app.get("/ckan-admin/communes", headers=_auth(enrolled_commune["editor"]), status=403)
        page = app.get("/ckan-admin/communes", headers=_auth(mel_staff))
        assert enrolled_commune["title"] in page.body

    def test_the_table_filters_by_status(self, app, commune_factory, mel_staff):
        active, never = commune_factory(), commune_factory()
        call_action("mel_enrolment_create", organization=active["id"])
        page = app.get("/ckan-admin/communes?status=active", headers=_auth(mel_staff))
        assert active["title"] in page.body and never["title"] not in page.body
        app.get("/ckan-admin/communes?status=bogus", headers=_auth(mel_staff), status=400)

    def test_the_csv_export(self, app, enrolled_commune, mel_staff):
        response = app.get("/ckan-admin/communes.csv", headers=_auth(mel_staff))
        rows = list(csv.reader(io.StringIO(response.body.lstrip("\ufeff"))))
        assert rows[0][:5] == ["insee_code", "title", "population", "obligation", "status"]
        assert [enrolled_commune["insee_code"], enrolled_commune["title"]] in [row[:2] for row in rows[1:]]

    def test_staff_enrol_extend_and_set_the_quota_through_the_forms(self, app, commune, mel_staff):
        headers = _auth(mel_staff)
        page = app.get(f"/ckan-admin/communes/{commune['name']}", headers=headers)
        token = csrf_token(page.body)
        url = f"/ckan-admin/communes/{commune['name']}"
        app.post(
            f"{url}/enrol",
            data={"_csrf_token": token, "start_date": "2030-01-31", "reason": "Convention"},
            headers=headers,
        )
        app.post(f"{url}/extend", data={"_csrf_token": token, "months": "1"}, headers=headers)
        app.post(
            f"{url}/quota", data={"_csrf_token": token, "maximum": "7", "reason": "Accord"}, headers=headers
        )
        shown = call_action("mel_enrolment_show", organization=commune["id"], include_history=True)
        assert (shown["start_date"], shown["end_date"]) == ("2030-01-31", "2030-08-31")
        assert [h["action"] for h in shown["history"]] == ["enrol", "extend", "set_quota"]
        assert call_action("mel_quota_show", organization=commune["id"])["maximum"] == 7

    def test_a_refused_operation_is_explained_not_a_500(self, app, commune, mel_staff):
        headers = _auth(mel_staff)
        token = csrf_token(app.get(f"/ckan-admin/communes/{commune['name']}", headers=headers).body)
        page = app.post(
            f"/ckan-admin/communes/{commune['name']}/extend",
            data={"_csrf_token": token, "months": "2"},
            headers=headers,
            follow_redirects=True,
        )
        assert page.status_code == 200
        text = html.unescape(page.body)
        # The interface is French by default: the refusal is the catalogue's French message.
        assert f"{commune['title']} n'est pas adhérente du portail." in text

    def test_in_a_browser_session_forms_need_the_csrf_token(self, app, commune_factory, mel_staff):
        # API tokens are exempt from CSRF checks; a logged-in browser is not, even after an
        # API call reached the same view (CKAN 2.12 then exempts the view for the process).
        commune, other = commune_factory(), commune_factory()
        app.post(f"/ckan-admin/communes/{other['name']}/enrol", data={}, headers=_auth(mel_staff))
        assert call_action("mel_enrolment_show", organization=other["id"])["status"] == "active"
        browser = login(app, mel_staff)
        url = f"/ckan-admin/communes/{commune['name']}"
        refused = browser.post(f"{url}/enrol", data={})
        assert refused.status_code == 400
        assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "not_enrolled"
        token = csrf_token(browser.get(url).body)
        browser.post(f"{url}/enrol", data={"_csrf_token": token})
        assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "active"

"""The agent's home ("Ma commune") and the MEL console as pages, without a browser:
what each shows, to whom, and clear 4xx answers to bad requests.

The browser tests (test_web_agent.py, test_web_console.py) walk the same pages
in Chromium; these cover the cases one by one, fast.
"""

import csv
import datetime
import io
import re
import uuid

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import api_token, call_as_sysadmin

NAISSANCES = (
    "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS\n"
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16\n"
)
NOT_A_NUMBER = NAISSANCES.replace(",31,15,16", ",beaucoup,15,16")


def _auth(user):
    return {"Authorization": api_token(user["name"])}


def _steps(body):
    return re.findall(r'data-step="([a-z_]+)"', body)


def _dataset(commune, **fields):
    fields.setdefault("notes", "Des données.")
    fields.setdefault("name", f"{commune['name']}-{uuid.uuid4().hex[:8]}")
    return call_as_sysadmin("package_create", owner_org=commune["id"], **fields)


@pytest.fixture
def with_upload(create_with_upload):
    def upload(dataset, content, filename="naissances.csv"):
        site_user = call_action("get_site_user", context={"ignore_auth": True})
        return create_with_upload(
            content.encode(),
            filename,
            package_id=dataset["id"],
            context={"user": site_user["name"]},
        )

    return upload


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestMyCommune:
    def test_anonymous_visitors_are_sent_to_log_in_first(self, app):
        response = app.get("/ma-commune", follow_redirects=False)
        assert response.status_code == 302
        assert "/user/login" in response.headers["Location"]
        assert "came_from=/ma-commune" in response.headers["Location"]

    def test_an_agent_sees_the_period_the_counter_and_what_to_do(self, app, enrolled_commune):
        page = app.get("/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert '<html lang="fr"' in page.body
        assert enrolled_commune["title"] in page.body
        assert 'data-status="active"' in page.body
        assert re.search(r'id="mel-days-left" data-days="1[78]\d"', page.body)
        assert 'data-public="0" data-minimum="3" data-maximum="5"' in page.body
        assert _steps(page.body) == ["reach_target"]
        assert f"/dataset/new?group={enrolled_commune['id']}" in page.body

    def test_the_counter_reads_as_a_sentence_in_english_too(self, app, enrolled_commune):
        _dataset(enrolled_commune, title="Écoles")
        page = app.get("/en/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert '<html lang="en"' in page.body
        assert "1 dataset published — target: 3, maximum: 5" in page.body
        assert "Publish 2 more datasets to reach the target of 3." in page.body

    def test_the_header_links_members_to_their_commune_and_no_one_else(self, app, enrolled_commune):
        assert "/ma-commune" in app.get("/dataset", headers=_auth(enrolled_commune["editor"])).body
        assert "/ma-commune" not in app.get("/dataset", headers=_auth(factories.User())).body
        assert "/ma-commune" not in app.get("/dataset").body

    def test_an_agent_of_several_communes_chooses_one(self, app, commune_factory):
        agent = factories.User()
        first = commune_factory(title="Anstaing", users=[{"name": agent["name"], "capacity": "editor"}])
        second = commune_factory(title="Baisieux", users=[{"name": agent["name"], "capacity": "member"}])
        page = app.get("/ma-commune", headers=_auth(agent))
        assert "mel-commune-chooser" in page.body
        assert f"/ma-commune/{first['name']}" in page.body and f"/ma-commune/{second['name']}" in page.body
        assert "Baisieux" in app.get(f"/ma-commune/{second['name']}", headers=_auth(agent)).body

    def test_a_user_of_no_commune_is_told_whom_to_ask(self, app, commune):
        page = app.get("/ma-commune", headers=_auth(factories.User()))
        assert 'id="mel-no-commune"' in page.body
        assert "opendata@lillemetropole.fr" in page.body

    def test_another_commune_is_forbidden_an_unknown_one_not_found(
        self, app, enrolled_commune, commune_factory
    ):
        other = commune_factory()
        headers = _auth(enrolled_commune["editor"])
        app.get(f"/ma-commune/{other['name']}", headers=headers, status=403)
        app.get("/ma-commune/nowhere", headers=headers, status=404)
        app.get("/ma-commune/<script>", headers=headers, status=404)

    @pytest.mark.parametrize("path", ["/ma-commune/%00", "/ckan-admin/communes/a%00b"])
    def test_a_name_postgresql_cannot_hold_is_no_commune_not_a_500(self, app, mel_staff, path):
        app.get(path, headers=_auth(mel_staff), status=404)

    def test_a_reason_postgresql_cannot_hold_is_a_400(self, app, enrolled_commune, mel_staff):
        url = f"/ckan-admin/communes/{enrolled_commune['name']}/extend"
        headers = _auth(mel_staff)
        app.post(url, data={"months": "1", "reason": "a\x00b"}, headers=headers, status=400)
        commune_id = enrolled_commune["id"]
        shown = call_action("mel_enrolment_show", organization=commune_id, include_history=True)
        assert [entry["action"] for entry in shown["history"]] == ["enrol"]

    def test_mel_staff_see_any_commune_as_its_agents_do(self, app, enrolled_commune, mel_staff):
        page = app.get(f"/ma-commune/{enrolled_commune['insee_code']}", headers=_auth(mel_staff))
        assert enrolled_commune["title"] in page.body
        assert _steps(page.body) == ["reach_target"]

    def test_an_invalid_file_comes_first_with_a_link_to_its_report(self, app, enrolled_commune, with_upload):
        dataset = _dataset(enrolled_commune, title="Naissances", data_model="mel-naissances")
        resource = with_upload(dataset, NOT_A_NUMBER)
        page = app.get("/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert _steps(page.body)[0] == "fix_file"
        assert f"/dataset/{dataset['name']}/resource/{resource['id']}#validation-report" in page.body
        assert 'data-check="invalid"' in page.body

    @pytest.mark.usefixtures("with_test_worker")
    def test_a_valid_file_and_the_quality_score_are_shown(self, app, enrolled_commune, with_upload):
        dataset = _dataset(enrolled_commune, title="Naissances", data_model="mel-naissances")
        with_upload(dataset, NAISSANCES)
        # The job worker scores the dataset after the change (`ckan jobs worker default mel_quality`).
        from ckan.lib import jobs

        from ckanext.mel import quality

        jobs.Worker([quality.QUEUE]).work(burst=True)
        page = app.get("/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert 'data-check="valid"' in page.body
        score = call_action("mel_quality_show", id=dataset["id"])["score"]
        assert f'data-score="{score}"' in page.body
        assert "fix_file" not in _steps(page.body)

    def test_drafts_and_private_datasets_are_named(self, app, enrolled_commune):
        _dataset(enrolled_commune, title="Brouillon", state="draft")
        _dataset(enrolled_commune, title="Caché", private=True)
        steps = _steps(app.get("/ma-commune", headers=_auth(enrolled_commune["editor"])).body)
        assert "finish_draft" in steps and "make_public" in steps

    def test_at_the_maximum_the_home_explains_and_offers_no_new_dataset(self, app, enrolled_commune):
        for number in range(5):
            _dataset(enrolled_commune, title=f"Jeu {number}")
        page = app.get("/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert "quota_full" in _steps(page.body)
        assert "reach_target" not in _steps(page.body)
        assert 'id="mel-add-dataset"' not in page.body

    def test_a_period_ending_soon_asks_to_contact_the_mel(self, app, commune):
        soon = datetime.date.today() + datetime.timedelta(days=10)
        call_action(
            "mel_enrolment_create",
            organization=commune["id"],
            start_date="2020-01-01",
            end_date=soon.isoformat(),
        )
        agent = factories.User()
        call_action("organization_member_create", id=commune["id"], username=agent["name"], role="editor")
        steps = _steps(app.get("/ma-commune", headers=_auth(agent)).body)
        assert steps[0] == "expiring"

    def test_after_the_period_only_the_read_only_explanation_remains(self, app, enrolled_commune):
        _dataset(enrolled_commune, title="Écoles")
        call_action("mel_enrolment_end", organization=enrolled_commune["id"])
        page = app.get("/ma-commune", headers=_auth(enrolled_commune["editor"]))
        assert _steps(page.body) == ["read_only"]
        assert 'data-status="ended_early"' in page.body
        assert 'id="mel-add-dataset"' not in page.body
        assert "Écoles" in page.body  # its datasets are still listed


@pytest.fixture
def territory(commune_factory):
    """Two obliged communes (one at the target) and one that is not obliged."""
    lille = commune_factory(title="Lille", population=236000)
    roubaix = commune_factory(title="Roubaix", population=98000)
    anstaing = commune_factory(title="Anstaing", population=1400)
    for commune in (lille, roubaix, anstaing):
        call_action(
            "mel_enrolment_create",
            organization=commune["id"],
            start_date="2026-01-01",
            end_date="2099-06-30",
        )
    for number in range(3):
        _dataset(lille, title=f"Lille {number}")
    _dataset(anstaing, title="Anstaing 1")
    return {"lille": lille, "roubaix": roubaix, "anstaing": anstaing}


def _total(body, name):
    match = re.search(rf'data-total="{name}">\s*<dt>[^<]*</dt>\s*<dd>(\d+)', body)
    return int(match.group(1))


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestConsoleDashboard:
    def test_the_totals_and_the_progress_towards_open_data(self, app, territory, mel_staff):
        page = app.get("/ckan-admin/communes", headers=_auth(mel_staff)).body
        assert _total(page, "enrolled") == 3
        assert _total(page, "public_datasets") == 4
        assert _total(page, "at_target") == 1
        assert _total(page, "obliged_publishing") == 1
        assert 'aria-valuenow="50"' in page  # one obliged commune out of two at the target

    def test_the_charts_are_inline_svg_with_their_figures(self, app, territory, mel_staff):
        page = app.get("/ckan-admin/communes", headers=_auth(mel_staff)).body
        assert page.count("<svg") == 2
        assert (
            '<script src="http' not in page
            and "<img" not in page.split('id="mel-charts-title"')[1].split("</section>")[0]
        )
        chart = page.split('id="mel-chart-datasets"')[1].split("</figure>")[0]
        assert re.findall(r'data-value="(\d+)"', chart)[-1] == "4"

    def test_obligation_and_target_filters(self, app, territory, mel_staff):
        headers = _auth(mel_staff)
        obliged = app.get("/ckan-admin/communes?obligation=yes", headers=headers).body
        rows = re.findall(r'<tr class="mel-status-[a-z_]+" data-commune="([^"]+)"', obliged)
        assert sorted(rows) == sorted([territory["lille"]["name"], territory["roubaix"]["name"]])
        missed = app.get("/ckan-admin/communes?obligation=yes&target=missed", headers=headers).body
        rows = re.findall(r'<tr class="mel-status-[a-z_]+" data-commune="([^"]+)"', missed)
        assert rows == [territory["roubaix"]["name"]]
        # The totals are the territory's, whatever the filter.
        assert _total(missed, "enrolled") == 3

    @pytest.mark.parametrize("query", ["obligation=maybe", "target=soon", "status=bogus"])
    def test_unknown_filter_values_are_a_400(self, app, mel_staff, query):
        app.get(f"/ckan-admin/communes?{query}", headers=_auth(mel_staff), status=400)
        app.get(f"/ckan-admin/communes.csv?{query}", headers=_auth(mel_staff), status=400)

    def test_the_export_has_the_quality_and_keeps_the_filters(self, app, territory, mel_staff):
        page = app.get("/ckan-admin/communes?obligation=yes", headers=_auth(mel_staff)).body
        assert 'href="/ckan-admin/communes.csv?obligation=yes"' in page
        response = app.get("/ckan-admin/communes.csv?obligation=yes", headers=_auth(mel_staff))
        rows = list(csv.DictReader(io.StringIO(response.body.lstrip("\ufeff"))))
        assert sorted(row["title"] for row in rows) == ["Lille", "Roubaix"]
        lille = next(row for row in rows if row["title"] == "Lille")
        expected = call_action("mel_quality_show", organization=territory["lille"]["id"])
        assert (
            lille["quality_score"] == str(expected["score"]) and lille["quality_rating"] == expected["rating"]
        )
        assert lille["at_target"] == "True"
        assert next(row for row in rows if row["title"] == "Roubaix")["quality_score"] == ""

    def test_the_table_is_sortable_and_accessible(self, app, territory, mel_staff):
        page = app.get("/ckan-admin/communes", headers=_auth(mel_staff)).body
        table = page.split('id="mel-communes-table"')[1].split("</table>")[0]
        assert 'data-module="mel-sortable-table"' in page
        assert "<caption>" in table
        assert table.count('scope="col"') == 10
        assert "_sortable-table.js" in page


@pytest.mark.usefixtures("clean_db")
class TestPages:
    def test_flash_messages_are_a_live_region(self, app, commune, mel_staff):
        page = app.get("/communes")
        assert '<div class="flash-messages" role="status" aria-live="polite">' in page.body

    def test_every_page_of_the_plugin_has_one_main_landmark(self, app, enrolled_commune, mel_staff):
        headers = _auth(mel_staff)
        for path in (
            "/communes",
            "/ckan-admin/communes",
            f"/ckan-admin/communes/{enrolled_commune['name']}",
            f"/ma-commune/{enrolled_commune['name']}",
            "/ma-commune",
        ):
            body = app.get(path, headers=headers).body
            assert body.count('role="main"') == 1, path
            assert '<html lang="fr"' in body, path

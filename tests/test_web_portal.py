"""The visitor's and the agent's way in: the home page, the About page, the main
menu, where logging in leads, and the harvesting guides (issue #17, "Arriving")."""

import re

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import PASSWORD, call_as_sysadmin, login

pytestmark = pytest.mark.usefixtures("clean_db")


@pytest.fixture
def lille(commune_factory):
    commune = commune_factory(name="lille", title="Lille", insee_code="59350", population=236000)
    call_action("mel_enrolment_create", organization=commune["id"])
    call_as_sysadmin(
        "package_create",
        owner_org=commune["id"],
        name="lille-ecoles",
        title="Écoles de Lille",
        notes="Les écoles.",
        private=False,
    )
    return commune


def test_home_page_presents_the_communes_portal(app, lille):
    page = app.get("/").body
    assert "Bienvenue sur CKAN" not in page and "420 x 220" not in page
    assert "Les données ouvertes des communes de la MEL" in page
    assert 'id="mel-home-q"' in page
    assert "Écoles de Lille" in page  # the latest datasets
    assert 'href="/communes"' in page and 'href="/ma-commune"' in page
    assert 'id="mel-home-metropolitan"' in page


def test_about_page_is_french(app, lille):
    page = app.get("/about").body
    assert "À propos de ce portail" in page
    assert "CKAN is the world" not in page


def test_main_menu_links_the_communes_and_my_commune(app, lille):
    agent = factories.User(password=PASSWORD)
    call_action("organization_member_create", id=lille["id"], username=agent["name"], role="editor")
    client = login(app, agent)
    page = client.get("/dataset/").body
    menu = page[page.index('id="main-navigation-toggle"') :]
    menu = menu[: menu.index("</ul>")]
    assert 'href="/communes"' in menu
    assert "mel-my-commune-link" in menu and "Ma commune" in menu


def test_agent_lands_on_my_commune_after_login(app, lille):
    agent = factories.User(password=PASSWORD)
    call_action("organization_member_create", id=lille["id"], username=agent["name"], role="editor")
    client = app.test_client(use_cookies=True)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/user/login").body).group(1)
    response = client.post(
        "/user/login",
        data={"login": agent["name"], "password": PASSWORD, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/ma-commune/bienvenue")
    assert (
        client.get("/ma-commune/bienvenue", follow_redirects=False)
        .headers["Location"]
        .endswith("/ma-commune")
    )


def test_a_user_of_no_commune_goes_to_the_dashboard(app):
    user = factories.User(password=PASSWORD)
    client = login(app, user)
    response = client.get("/ma-commune/bienvenue", follow_redirects=False)
    assert response.status_code == 302
    assert "/dashboard" in response.headers["Location"]


def test_harvesting_guides(app, lille):
    page = app.get("/moissonnage/lille").body
    assert "/organization/lille/catalog.xml" in page
    assert "Ajouter un moissonneur" in page
    page = app.get("/moissonnage").body
    assert "/catalog.xml" in page
    assert app.get("/moissonnage/nowhere", status=404)


# Publishing: dataset URLs carry their commune


def test_two_communes_publish_the_same_title(commune_factory):
    lille = commune_factory(name="lille", title="Lille", insee_code="59350")
    roubaix = commune_factory(name="roubaix", title="Roubaix", insee_code="59512")
    for commune in (lille, roubaix):
        call_action("mel_enrolment_create", organization=commune["id"])
    first = call_as_sysadmin(
        "package_create", owner_org=lille["id"], name="ecoles", title="Écoles", notes="n"
    )
    second = call_as_sysadmin(
        "package_create", owner_org=roubaix["id"], name="ecoles", title="Écoles", notes="n"
    )
    assert (first["name"], second["name"]) == ("lille-ecoles", "roubaix-ecoles")
    again = call_as_sysadmin(
        "package_create", owner_org=lille["id"], name="ecoles", title="Écoles", notes="n"
    )
    assert again["name"] == "lille-ecoles-2"
    # Without a name, from the title.
    untitled = call_as_sysadmin("package_create", owner_org=lille["id"], title="Parcs et jardins", notes="n")
    assert untitled["name"] == "lille-parcs-et-jardins"


def test_a_prefixed_name_is_kept_and_duplicates_refused(commune_factory):
    import ckan.plugins.toolkit as tk

    lille = commune_factory(name="lille", title="Lille", insee_code="59350")
    call_action("mel_enrolment_create", organization=lille["id"])
    call_as_sysadmin("package_create", owner_org=lille["id"], name="lille-ecoles", title="Écoles", notes="n")
    with pytest.raises(tk.ValidationError) as error:
        call_as_sysadmin(
            "package_create", owner_org=lille["id"], name="lille-ecoles", title="Écoles", notes="n"
        )
    assert "name" in error.value.error_dict


def test_renaming_is_left_alone_on_update(commune_factory):
    lille = commune_factory(name="lille", title="Lille", insee_code="59350")
    call_action("mel_enrolment_create", organization=lille["id"])
    dataset = call_as_sysadmin(
        "package_create", owner_org=lille["id"], name="ecoles", title="Écoles", notes="n"
    )
    updated = call_as_sysadmin("package_patch", id=dataset["id"], name="ecoles-publiques")
    assert updated["name"] == "ecoles-publiques"


# Publishing: checked before the form


@pytest.fixture
def agent_of(commune_factory):
    def make(name, title, insee, **enrol):
        commune = commune_factory(name=name, title=title, insee_code=insee)
        if enrol is not None:
            call_action("mel_enrolment_create", organization=commune["id"], **enrol)
        agent = factories.User(password=PASSWORD)
        call_action("organization_member_create", id=commune["id"], username=agent["name"], role="editor")
        return commune, agent

    return make


def test_a_full_commune_is_told_before_the_form(app, agent_of):
    commune, agent = agent_of("lille", "Lille", "59350")
    call_action("mel_quota_set", organization=commune["id"], maximum=1)
    draft = call_as_sysadmin(
        "package_create",
        owner_org=commune["id"],
        name="lille-brouillon",
        title="Brouillon",
        notes="n",
        state="draft",
    )
    client = login(app, agent)
    for path in ("/dataset/new", f"/dataset/new?group={commune['id']}"):
        response = client.get(path)
        assert response.status_code == 403
        page = response.body
        assert 'data-reason="quota_full"' in page
        assert "a atteint son maximum de jeux de données" in page
        assert draft["name"] in page  # the datasets that count, with a way to free a place
        assert 'name="title"' not in page  # no form
    page = client.get("/ma-commune").body
    assert 'id="mel-add-dataset"' not in page


def test_an_expired_commune_is_told_before_the_edit_form(app, agent_of):
    import datetime

    start = (datetime.date.today() - datetime.timedelta(days=200)).isoformat()
    end = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    commune, agent = agent_of("roubaix", "Roubaix", "59512", start_date=start, end_date=end)
    dataset = call_as_sysadmin(
        "package_create", owner_org=commune["id"], name="roubaix-parcs", title="Parcs", notes="n"
    )
    client = login(app, agent)
    for path in (
        "/dataset/new",
        f"/dataset/edit/{dataset['name']}",
        f"/dataset/{dataset['name']}/resource/new",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert 'data-reason="read_only"' in response.body, (
            path,
            re.findall(r'<h1[^>]*>.*?</h1>|<p class="lead">.*?</p>', response.body, re.S),
        )
        assert "Forbidden" not in response.body and "Unauthorized" not in response.body
        assert "ne peuvent pas être modifiés" in response.body
    # Submitting anyway gets the same page, not CKAN's English error.
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/user/login").body)
    response = client.post(
        f"/dataset/edit/{dataset['name']}",
        data={"title": "Nouveau", "_csrf_token": token.group(1) if token else ""},
    )
    assert response.status_code == 403 and 'data-reason="read_only"' in response.body


def test_drafts_listed_with_continue_and_delete(app, agent_of):
    commune, agent = agent_of("lille", "Lille", "59350")
    call_as_sysadmin(
        "package_create",
        owner_org=commune["id"],
        name="lille-brouillon",
        title="Brouillon",
        notes="n",
        state="draft",
    )
    client = login(app, agent)
    page = client.get("/ma-commune").body
    assert 'href="/dataset/lille-brouillon/resource/new"' in page
    assert 'href="/dataset/delete/lille-brouillon"' in page
    # The delete link leads to CKAN's confirmation, which the agent may use.
    assert client.get("/dataset/delete/lille-brouillon").status_code == 200

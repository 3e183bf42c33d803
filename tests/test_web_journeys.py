"""The journeys of issue #17 in Chromium, at a desktop's width and a phone's (390 px),
on the `make run` configuration: a new agent from login to a published dataset
with a valid uploaded file; the agents of a full and of an expired commune; a
visitor searching on the map; MEL staff enrolling, extending, ending (confirmed)
and exporting. On every page: nothing wider than the screen."""

import csv
import datetime
import io
import time

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.helpers import PASSWORD, call_as_sysadmin

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")

VALID = (
    "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS\n"
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16\n"
)
SQUARE = (
    '{"type": "Polygon", "coordinates": '
    "[[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.71], [2.85, 50.67]]]}"
)


@pytest.fixture(params=["desktop", "phone"])
def screen(browser, request):
    if request.param == "phone":
        browser.phone()
    yield request.param
    browser.desktop()


def _agent(commune):
    agent = factories.User(password=PASSWORD, image_url="")
    call_action("organization_member_create", id=commune["id"], username=agent["name"], role="editor")
    return agent


def _menu(browser, screen, css):
    """A main-menu link, opening the phone's collapsed menu first."""
    if screen == "phone":
        toggler = browser.one(".navbar-toggler")
        if toggler.get_attribute("aria-expanded") != "true":
            toggler.click()
            time.sleep(0.5)
    return browser.one(f"#main-navigation-toggle {css}")


def _fits(browser):
    assert browser.overflow() == 0, f"{browser.path} is wider than the screen"


def test_a_new_agent_publishes_a_valid_file(browser, screen, commune_factory, tmp_path):
    commune = commune_factory(name="armentieres", title="Armentières", insee_code="59017", boundary=SQUARE)
    call_action("mel_enrolment_create", organization=commune["id"])
    agent = _agent(commune)
    browser.login(agent)
    assert browser.path == "/ma-commune"  # straight to the commune after logging in
    _fits(browser)
    assert _menu(browser, screen, "a.mel-my-commune-link").is_displayed()
    browser.follow(browser.one("#mel-add-dataset"))
    _fits(browser)
    browser.fill("#field-title", "Naissances 2024")
    browser.fill("#field-notes", "Les naissances, mois par mois.")
    browser.choose("#field-data_model", "mel-naissances")
    browser.choose("#field-private", "False")
    browser.submit(browser.button_of("#field-title"))
    assert browser.path == "/dataset/armentieres-naissances-2024/resource/new"
    path = tmp_path / "naissances.csv"
    path.write_text(VALID, encoding="utf-8")
    browser.upload("#field-resource-upload", path)
    browser.submit(browser.one("button[name=save][value=go-metadata]"))
    assert browser.path == "/dataset/armentieres-naissances-2024"
    _fits(browser)
    # On a phone the content comes first: the title above the commune's sidebar.
    title_y = browser.one(".primary h1").location["y"]
    sidebar = browser.all("aside.secondary")
    if screen == "phone" and sidebar:
        assert title_y < sidebar[0].location["y"]
    browser.visit(browser.one(".resource-item a.heading").get_attribute("href")[len(browser.base_url) :])
    assert browser.one("#validation-report .badge.bg-success")
    _fits(browser)
    browser.visit("/ma-commune")
    row = browser.one("tr[data-dataset='armentieres-naissances-2024']")
    assert row.find_element("css selector", "[data-check]").get_attribute("data-check") == "valid"


def test_agents_of_a_full_and_of_an_expired_commune_are_told_before_the_form(
    browser, screen, commune_factory
):
    full = commune_factory(name="lille", title="Lille", insee_code="59350")
    call_action("mel_enrolment_create", organization=full["id"])
    call_action("mel_quota_set", organization=full["id"], maximum=1)
    call_as_sysadmin(
        "package_create",
        owner_org=full["id"],
        name="lille-brouillon",
        title="Brouillon",
        notes="n",
        state="draft",
    )
    agent = _agent(full)
    browser.login(agent)
    assert not browser.all("#mel-add-dataset")
    assert browser.one("tr[data-dataset='lille-brouillon'] .mel-draft-delete")
    browser.visit("/dataset/new")
    assert browser.one("#mel-refusal").get_attribute("data-reason") == "quota_full"
    assert "maximum" in browser.text("[role=main]")
    assert browser.one("[data-dataset='lille-brouillon'] a[href='/dataset/delete/lille-brouillon']")
    _fits(browser)

    start = (datetime.date.today() - datetime.timedelta(days=200)).isoformat()
    end = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    expired = commune_factory(name="roubaix", title="Roubaix", insee_code="59512")
    call_action("mel_enrolment_create", organization=expired["id"], start_date=start, end_date=end)
    call_as_sysadmin(
        "package_create", owner_org=expired["id"], name="roubaix-parcs", title="Parcs", notes="n"
    )
    agent = _agent(expired)
    browser.driver.delete_all_cookies()
    browser.login(agent)
    assert not browser.all("#mel-add-dataset")
    browser.visit("/dataset/edit/roubaix-parcs")
    assert browser.one("#mel-refusal").get_attribute("data-reason") == "read_only"
    text = browser.text("[role=main]")
    assert "Forbidden" not in text and "Unauthorized" not in text
    assert "opendata@" in text or "@" in text
    _fits(browser)


def test_a_visitor_searches_on_the_map(browser, screen, commune_factory):
    commune = commune_factory(name="armentieres", title="Armentières", insee_code="59017", boundary=SQUARE)
    call_action("mel_enrolment_create", organization=commune["id"])
    call_as_sysadmin(
        "package_create", owner_org=commune["id"], name="ecoles", title="Écoles", notes="n", private=False
    )
    browser.visit("/")
    _fits(browser)
    assert browser.one("#mel-home-q")
    browser.visit("/dataset/")
    _fits(browser)
    assert browser.one("#dataset-map .leaflet-container")
    # Draw a rectangle on the map, as a visitor does, and apply it.
    pencil = browser.one("#dataset-map .leaflet-control-custom-button")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", pencil)
    pencil.click()
    container = browser.one("#draw-map-container.leaflet-container")
    time.sleep(1)  # the modal's opening, then the rectangle tool
    size = container.size
    ActionChains(browser.driver).move_to_element_with_offset(
        container, -size["width"] // 6, -size["height"] // 6
    ).click_and_hold().move_by_offset(size["width"] // 3, size["height"] // 3).release().perform()
    apply = browser.one(".modal .btn-primary.apply:not(.disabled)")
    browser.submit(apply)
    assert "ext_bbox=" in browser.path
    assert browser.one(".dataset-list, .dataset-content, #content")
    _fits(browser)


def test_staff_enrol_extend_end_with_confirmation_and_export(browser, screen, commune_factory, mel_staff):
    commune = commune_factory(name="lille", title="Lille", insee_code="59350", population=236000)
    browser.login(mel_staff)
    assert browser.path == "/ckan-admin/communes"  # staff land on the console
    _fits(browser)
    browser.visit("/ckan-admin/communes/lille")
    assert not browser.all("#mel-extend") and not browser.all("#mel-end")
    browser.submit(browser.button_of("#mel-enrol-start"))
    assert "est inscrite" in browser.text(".flash-messages")
    browser.fill("#mel-extend-months", "2")
    browser.submit(browser.button_of("#mel-extend-months"))
    assert "prolongée" in browser.text(".flash-messages")
    # Ending asks for a confirmation: the browser refuses the unticked form.
    end = browser.button_of("#mel-end-confirm")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", end)
    end.click()
    assert browser.path == "/ckan-admin/communes/lille"
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "active"
    # Ticked from the keyboard: the refused submit left the focus on the box, under
    # Chromium's "please tick" bubble, which may swallow a click while it shows.
    confirm = browser.one("#mel-end-confirm")
    confirm.send_keys(Keys.SPACE)
    assert confirm.is_selected()
    browser.submit_from_keyboard(end)
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "ended_early"
    assert "s'est terminée le" in browser.text(".flash-messages")
    assert browser.one("#mel-enrol")  # now it can be enrolled again, not extended
    assert not browser.all("#mel-extend")
    _fits(browser)
    # The French export, as French spreadsheet software opens it.
    browser.visit("/ckan-admin/communes?q=lil")
    _fits(browser)
    href = browser.one("#mel-export").get_attribute("href")
    import requests

    cookies = {c["name"]: c["value"] for c in browser.driver.get_cookies()}
    body = requests.get(href, cookies=cookies, timeout=30).content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0][0] == "Code INSEE" and rows[1][1] == "Lille"

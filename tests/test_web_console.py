"""MEL staff in a real browser (headless Chromium): the territory's dashboard,
its table sorted from the keyboard and filtered, its CSV export downloaded, and
a commune enrolled then extended from its console page."""

import csv
import datetime
import time

import pytest
from ckan.tests.helpers import call_action
from dateutil.relativedelta import relativedelta
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.browser import WAIT, accessibility_problems
from tests.helpers import call_as_sysadmin


@pytest.fixture
def territory(commune_factory):
    """Lille (obliged, at the target), Roubaix (obliged, nothing yet),
    Anstaing (small, not enrolled)."""
    lille = commune_factory(name="lille", title="Lille", population=236000)
    roubaix = commune_factory(name="roubaix", title="Roubaix", population=98000)
    anstaing = commune_factory(name="anstaing", title="Anstaing", population=1400)
    for commune in (lille, roubaix):
        call_action("mel_enrolment_create", organization=commune["id"])
    for number in range(3):
        call_as_sysadmin(
            "package_create",
            owner_org=lille["id"],
            name=f"lille-{number}",
            title=f"Lille {number}",
            notes="Publié par la ville.",
            private=False,
        )
    return {"lille": lille, "roubaix": roubaix, "anstaing": anstaing}


def _communes(browser):
    return [row.get_attribute("data-commune") for row in browser.all("#mel-communes-table tbody tr")]


def _downloaded(folder, name):
    """The file once Chrome has finished writing it."""
    path = folder / name
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if path.exists() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded")


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_staff_read_the_territory_sort_filter_and_export(browser, territory, mel_staff):
    # The public list of communes first, as anyone sees it.
    browser.visit("/communes")
    assert browser.html_lang() == "fr" and len(browser.all("#mel-communes-table tbody tr")) == 3
    assert accessibility_problems(browser) == []

    browser.login(mel_staff)
    browser.follow(browser.one("a.mel-console-link"))
    assert browser.path == "/ckan-admin/communes"
    assert browser.text("[data-total=enrolled] dd").startswith("2")
    assert browser.text("[data-total=public_datasets] dd").startswith("3")
    assert browser.one("#mel-progress").get_attribute("aria-valuenow") == "50"
    for chart in browser.all("svg[role=img]"):
        assert chart.is_displayed() and chart.size["width"] > 100
    assert accessibility_problems(browser) == []
    assert _communes(browser) == ["anstaing", "lille", "roubaix"]

    # Sorting from the keyboard: from the export link, Tab reaches the headers; Enter sorts.
    browser.driver.execute_script("document.getElementById('mel-export').focus()")
    population = browser.one("#mel-communes-table thead th:nth-child(3)")
    for _press in range(12):
        ActionChains(browser.driver).send_keys(Keys.TAB).perform()
        focused = browser.driver.switch_to.active_element
        if focused.get_attribute("class") == "mel-sort-button" and focused.text.startswith(population.text):
            break
    else:
        raise AssertionError("the Population header cannot be reached with Tab")
    focused.send_keys(Keys.ENTER)
    assert population.get_attribute("aria-sort") == "ascending"
    assert _communes(browser) == ["anstaing", "roubaix", "lille"]
    assert browser.wait_for_text(".mel-sort-status", population.text)
    focused.send_keys(Keys.ENTER)
    assert population.get_attribute("aria-sort") == "descending"
    assert _communes(browser) == ["lille", "roubaix", "anstaing"]

    # Filtering, on the server: the obliged communes.
    browser.choose("#mel-obligation-filter", "yes")
    browser.submit(browser.one("#mel-filter-submit"))
    assert browser.path == "/ckan-admin/communes?q=&status=&obligation=yes&target="
    assert _communes(browser) == ["lille", "roubaix"]

    # The export keeps the filter, and has the quality column.
    for old in browser.downloads.glob("communes-mel*.csv"):
        old.unlink()
    browser.one("#mel-data-export").click()
    with open(_downloaded(browser.downloads, "communes-mel.csv"), encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [row["title"] for row in rows] == ["Lille", "Roubaix"]
    lille = rows[0]
    assert lille["public_dataset_count"] == "3" and lille["at_target"] == "True"
    assert lille["quality_score"] == str(
        call_action("mel_quality_show", organization=territory["lille"]["id"])["score"]
    )


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_staff_enrol_a_commune_then_extend_it(browser, territory, mel_staff):
    browser.login(mel_staff)
    browser.visit("/ckan-admin/communes?status=not_enrolled")
    assert _communes(browser) == ["anstaing"]
    browser.follow(browser.one("tr[data-commune=anstaing] th a"))
    assert browser.path == "/ckan-admin/communes/anstaing"
    assert accessibility_problems(browser) == []

    browser.fill("#mel-enrol-reason", "Convention signée le 3 mars")
    browser.submit(browser.button_of("#mel-enrol-reason"))
    flash = browser.one(".flash-messages[role=status] .alert")
    assert flash.is_displayed()
    enrolled = call_action("mel_enrolment_show", organization="anstaing", include_history=True)
    assert enrolled["status"] == "active"
    assert "Convention signée le 3 mars" in browser.text(".mel-history")

    browser.fill("#mel-extend-months", "2")
    browser.fill("#mel-extend-reason", "Délai demandé par le maire")
    browser.submit(browser.button_of("#mel-extend-months"))
    extended = call_action("mel_enrolment_show", organization="anstaing", include_history=True)
    start = datetime.date.fromisoformat(enrolled["start_date"])
    assert extended["end_date"] == (start + relativedelta(months=8)).isoformat()
    assert [entry["action"] for entry in extended["history"]] == ["enrol", "extend"]
    assert "Délai demandé par le maire" in browser.text(".mel-history")

    # An active commune is not offered a second enrolment (a refused post is explained:
    # tests/test_views.py::TestConsole::test_a_refused_operation_is_explained_not_a_500).
    assert browser.all("#mel-enrol-reason") == []
    assert browser.all("#mel-extend-months") != []

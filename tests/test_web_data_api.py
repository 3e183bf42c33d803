"""In Chromium, on the portal's own configuration: a loaded file's table view shows its
rows (core datatables_view) and its map view draws one point per row (loader/map_view.py).
The map's tiles are unreachable here, as the browser has no network: the points need none."""

import pytest
from ckan.tests.helpers import call_action
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import WAIT
from tests.test_loader import clean_datastore, dataset, sample, upload  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("clean_datastore", "clean_queues", "with_test_worker"),
]


@pytest.fixture
def parks(sample):  # noqa: F811  (the fixture imported above)
    package, resource = sample("mel-parcs-jardins", "lille-parcs-et-jardins.csv")
    views = {v["view_type"]: v["id"] for v in call_action("resource_view_list", id=resource["id"])}
    return package, resource, views


def test_the_table_view_shows_the_rows(browser, parks):
    package, resource, views = parks
    browser.visit(f"/dataset/{package['name']}/resource/{resource['id']}/view/{views['datatables_view']}")
    WebDriverWait(browser.driver, WAIT).until(
        lambda driver: len(driver.find_elements("css selector", "#dtprv tbody tr td")) > 1
    )
    rows = browser.all("#dtprv tbody tr")
    assert len(rows) == 10
    assert "Jardin des Plantes" in browser.text("#dtprv tbody")


def test_the_map_view_draws_a_point_per_row(browser, parks):
    package, resource, views = parks
    browser.visit(f"/dataset/{package['name']}/resource/{resource['id']}/view/{views['mel_map']}")
    WebDriverWait(browser.driver, WAIT).until(
        lambda driver: driver.find_element("css selector", "#mel-map").get_attribute("data-points")
    )
    assert browser.one("#mel-map").get_attribute("data-points") == "10"
    assert len(browser.all("#mel-map path.mel-map-point")) == 10
    assert "10 points" in browser.text(".mel-map-status")


def test_the_resource_page_links_the_table_and_the_map(browser, parks):
    package, resource, views = parks
    browser.visit(f"/dataset/{package['name']}/resource/{resource['id']}")
    section = browser.one("#data-api")
    assert section.get_attribute("data-api") == "loaded"
    links = {a.text: a.get_attribute("href") for a in section.find_elements("css selector", "a")}
    assert links["Tableau"].endswith(f"view_id={views['datatables_view']}")
    assert links["Carte"].endswith(f"view_id={views['mel_map']}")

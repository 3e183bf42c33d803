"""Headless Chromium for the browser tests (tests/test_web_*.py).

Debian's chromium and chromium-driver (scripts/setup.sh installs them) are
driven by Selenium; nothing is downloaded. `Browser` wraps the driver with the
few moves the tests make: visit a path of the live server, log in, fill and
submit forms, wait for a page, and take screenshots (on failure, and for the
agents' guide with MEL_GUIDE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.helpers import PASSWORD

CHROMIUM = os.environ.get("MEL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MEL_CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 800
TESTS = Path(__file__).parent
SCREENSHOTS = TESTS / "screenshots"
GUIDE_IMAGES = TESTS.parent / "docs" / "images"
# Waits are for the page to be there, never measures: generous, so slow machines pass.
WAIT = 30


def start_chromium(downloads: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # Bootstrap scrolls smoothly unless motion is reduced: clicks would miss their target.
        "--force-prefers-reduced-motion",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        # No network: every host but the live server's is unreachable (the maps' tiles included).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--user-data-dir={tempfile.mkdtemp(prefix='mel-chromium-')}",
    ):
        options.add_argument(flag)
    # French first, as the portal's visitors; the portal itself chooses by URL.
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    # Service(path) and binary_location set: Selenium Manager has nothing to fetch.
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    # The page's own size is 1280x800, whatever the window's decorations take.
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * WIDTH - inner[0], 2 * HEIGHT - inner[1])
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return driver


class Browser:
    def __init__(self, driver: webdriver.Chrome, base_url: str, downloads: Path):
        self.driver = driver
        self.base_url = base_url
        self.downloads = downloads
        driver.delete_all_cookies()  # cookies ignore ports: each test starts logged out

    # Navigation

    def visit(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.wait_loaded()

    @property
    def path(self) -> str:
        return self.driver.current_url[len(self.base_url) :]

    def wait_loaded(self) -> None:
        WebDriverWait(self.driver, WAIT).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )

    def submit(self, button: WebElement) -> None:
        """Click a submit button and wait for the next page."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        WebDriverWait(self.driver, WAIT).until(EC.staleness_of(page))
        self.wait_loaded()

    def submit_from_keyboard(self, button: WebElement) -> None:
        """Press Enter on a submit button, as a keyboard user does, and wait for the next page.
        After a form the browser refused, a click may land on Chromium's "please tick" bubble
        while it shows, and be lost."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        button.send_keys(Keys.ENTER)
        WebDriverWait(self.driver, WAIT).until(EC.staleness_of(page))
        self.wait_loaded()

    def follow(self, link: WebElement) -> None:
        self.submit(link)

    def login(self, user: dict, password: str = PASSWORD) -> None:
        self.visit("/user/login")
        self.fill("#field-login", user["name"])
        self.fill("#field-password", password)
        self.submit(self.button_of("#field-password"))
        assert self.all("form[action$='/user/_logout']"), "login failed: " + self.text("main, body")[:500]

    # Screen widths

    def phone(self, width: int = 390, height: int = 844) -> None:
        """A phone's screen (390 px wide, as an iPhone 12-15), touch and all."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )

    def desktop(self) -> None:
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def overflow(self) -> int:
        """How many pixels the page is wider than the screen (0 when it fits)."""
        return self.driver.execute_script(
            "return Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
        )

    # Reading the page

    def one(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, css))

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.one(css).text

    def html_lang(self) -> str:
        return self.one("html").get_attribute("lang")

    def wait_for_text(self, css: str, pattern: str) -> str:
        """The element's text, once it matches `pattern` (after scripts ran)."""

        def matched(driver):
            try:
                text = driver.find_element(By.CSS_SELECTOR, css).text
            except (StaleElementReferenceException, Exception):
                return False
            return text if re.search(pattern, text) else False

        return WebDriverWait(self.driver, WAIT).until(matched)

    # Forms

    def fill(self, css: str, value: str) -> None:
        field = self.one(css)
        field.clear()
        field.send_keys(value)

    def choose(self, css: str, value: str) -> None:
        Select(self.one(css)).select_by_value(value)

    def button_of(self, css: str) -> WebElement:
        """The submit button of the form that holds the field `css`."""
        return self.one(css).find_element(By.XPATH, "ancestor::form//button[@type='submit']")

    def upload(self, css: str, path: Path) -> None:
        self.driver.find_element(By.CSS_SELECTOR, css).send_keys(str(path))

    # Pictures

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def guide_shot(self, name: str, element: str | None = None) -> None:
        """A picture for docs/guide-agent.md, when MEL_GUIDE_SCREENSHOTS=1.

        The window's top (or `element` scrolled into view), 1280x800, reduced to
        256 colours so that the PNG stays small in the repository.
        """
        if os.environ.get("MEL_GUIDE_SCREENSHOTS") != "1":
            return
        if element:
            self.driver.execute_script(
                "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -16)",
                self.one(element),
            )
        else:
            self.driver.execute_script("window.scrollTo(0, 0)")
        path = self.screenshot(GUIDE_IMAGES / f"{name}.png")
        optimise_png(path)


def optimise_png(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(path, optimize=True)


ACCESSIBILITY_JS = (TESTS / "accessibility.js").read_text(encoding="utf-8")


def accessibility_problems(browser: Browser, within: str | None = None) -> list[str]:
    """The problems found on the page; `within` limits the content checks to the
    plugin's part of a page that CKAN draws (a CSS selector)."""
    return browser.driver.execute_script(ACCESSIBILITY_JS, within)

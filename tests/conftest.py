import factory
import pytest
from ckan.tests import factories
from pytest_factoryboy import register

# The password of the users that tests log in with a browser session.
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _stack(with_plugins):
    """Every test runs on the whole stack: the plugins listed in test.ini."""


@pytest.fixture
def clean_db(reset_db, migrate_db_for):
    """CKAN's clean_db, with the plugins' own tables migrated."""
    reset_db()
    migrate_db_for("activity")
    migrate_db_for("mel")


@register(_name="commune")
class CommuneFactory(factories.Organization):
    """A commune: an organisation with an INSEE code and a population."""

    title = factory.Sequence(lambda n: f"Commune {n}")
    name = factory.Sequence(lambda n: f"commune-{n}")
    insee_code = factory.Sequence(lambda n: f"59{n % 1000:03d}")
    siren = factory.Sequence(lambda n: f"215{n % 1000000:06d}")
    population = 12000


@register(_name="mel_organization")
class MelOrganizationFactory(factories.Organization):
    """The MEL's own organisation (its name is ckanext.mel.organization)."""

    name = "mel"
    title = "Métropole Européenne de Lille"


@pytest.fixture
def mel_staff(mel_organization_factory):
    """An admin of the MEL's organisation, who is not a sysadmin."""
    user = factories.User(password=PASSWORD)
    mel_organization_factory(users=[{"name": user["name"], "capacity": "admin"}])
    return user


@pytest.fixture
def live_server(app):
    """The test app served over HTTP on a free port, one thread per request."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, for fixtures that act on failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """One headless Chromium for the whole run (tests/browser.py)."""
    from tests.browser import start_chromium

    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(downloads)
    driver.mel_downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium, live_server, monkeypatch, request):
    """The browser on the live server, whose URL is the site URL (CKAN redirects to
    absolute URLs). On failure, a screenshot goes to tests/screenshots/."""
    from ckan.common import config

    from tests.browser import SCREENSHOTS, Browser

    monkeypatch.setitem(config, "ckan.site_url", live_server)
    browser = Browser(chromium, live_server, chromium.mel_downloads)
    yield browser
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        browser.screenshot(SCREENSHOTS / f"{request.node.name}.png")


@pytest.fixture
def enrolled_commune(commune):
    """A commune in its free period, with an editor who publishes for it."""
    from ckan.tests.helpers import call_action

    call_action("mel_enrolment_create", organization=commune["id"])
    editor = factories.User(password=PASSWORD)
    call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
    commune["editor"] = editor
    return commune


def api_token(user_name: str) -> str:
    from ckan.tests.helpers import call_action

    return call_action(
        "api_token_create", context={"user": user_name, "ignore_auth": True}, user=user_name, name="tests"
    )["token"]


def call_as_sysadmin(action: str, **data_dict):
    """call_action as the site user: actions that write activities need a real user."""
    from ckan.tests.helpers import call_action

    site_user = call_action("get_site_user", context={"ignore_auth": True})
    return call_action(action, context={"user": site_user["name"]}, **data_dict)


def login(app, user, password=PASSWORD):
    """A test client with a browser session (cookies) of a factory-made user."""
    import re

    client = app.test_client(use_cookies=True)
    form = client.get("/user/login").body
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/user/login", data={"login": user["name"], "password": password, "_csrf_token": token}
    )
    assert response.status_code == 200 and "/user/_logout" in response.body, "login failed"
    return client

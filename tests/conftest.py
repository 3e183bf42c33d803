import os
import re
from typing import Any

import ckan.plugins
import factory
import pytest
import sqlalchemy as sa
from ckan import model
from ckan.common import config, config_declaration
from ckan.lib.app_globals import _CONFIG_CACHE
from ckan.tests import factories
from ckan.tests import helpers as test_helpers
from pytest_factoryboy import register

from tests.helpers import PASSWORD


def pytest_configure(config):
    """Under pytest-xdist, each process on its own databases, Redis database and Solr site_id.

    scripts/test.sh prepares NAME_gw0, NAME_gw1… (and their DataStore databases)
    beside MEL_TEST_DB; this runs before CKAN reads its configuration.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    name = os.environ["MEL_TEST_DB"]
    for var in ("CKAN_SQLALCHEMY_URL", "CKAN_DATASTORE_WRITE_URL", "CKAN_DATASTORE_READ_URL"):
        os.environ[var] = os.environ[var].replace(f"/{name}", f"/{name}_{worker}")
    # Redis databases 16 apart: the first worker of the run on Redis database 1 uses 17.
    base, db = os.environ["CKAN_REDIS_URL"].rsplit("/", 1)
    index = int(re.sub(r"\D", "", worker))
    os.environ["CKAN_REDIS_URL"] = f"{base}/{int(db) + 16 * (index + 1)}"
    os.environ["CKAN_SITE_ID"] = f"{os.environ['CKAN_SITE_ID']}-{worker}"


@pytest.fixture(scope="session")
def _portal():
    """CKAN with the plugins of test.ini, started once for the run, as a server starts once.

    CKAN's own ``with_plugins`` and ``app`` fixtures load every plugin again for
    each test (a second or two of YAML and entry points each time). The
    configuration is still restored before every test by CKAN's pytest plugin,
    and ``ckan_config`` marks still apply: the plugins read their options when
    they are used.
    """
    portal = test_helpers._get_test_app()
    yield portal.app
    ckan.plugins.unload_all()


@pytest.fixture(autouse=True)
def _stack(_portal, request):
    """Every test runs on the whole stack: the plugins listed in test.ini."""
    # What CKAN's make_app fixture does: forget the config values app_globals cached.
    _CONFIG_CACHE.clear()
    if any(request.node.iter_markers("ckan_config")):
        # A test's ckan_config values typed as declared (what loading the plugins did).
        request.getfixturevalue("ckan_config")
        config_declaration.normalize(config)


class _TestApp(test_helpers.CKANTestApp):
    """CKAN's test app whose clients close each response once they have it all, as a WSGI server
    does once it has sent it (PEP 3333; Werkzeug's client leaves that to the test): what the portal
    runs after the response (after_request.py) has run when the call returns."""

    def test_client(self, *args: Any, **kwargs: Any) -> Any:
        client = super().test_client(*args, **kwargs)  # 2.11 and 2.12 build it differently
        opener = client.open

        def open_closing(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("buffered", True)
            return opener(*args, **kwargs)

        client.open = open_closing
        return client


@pytest.fixture
def app(_portal):
    """CKAN's ``app`` on the run's application: a client of its own (no cookies) per test."""
    return _TestApp(_portal)


@pytest.fixture
def clean_db(reset_db, migrate_db_for, reset_queues):
    """CKAN's clean_db, with the plugins' own tables migrated and the job queues emptied.

    Only the run's first reset drops the tables (the next ones empty them), so
    the plugins' migrations run again only when their version table is gone.
    Jobs left by earlier tests name datasets this database no longer has: a
    test's burst worker runs only the test's own.
    """
    reset_db()
    reset_queues()
    tables = sa.inspect(model.meta.engine)
    for plugin in ("activity", "mel"):
        if not tables.has_table(f"{plugin}_alembic_version"):
            migrate_db_for(plugin)


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


def pytest_collection_modifyitems(items):
    """Tests that drive Chromium are marked `browser` (deselect with -m "not browser")."""
    for item in items:
        if {"browser", "chromium"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def armentieres_naissances(sysadmin, commune_factory):
    """A dataset of Armentières that follows the births data model (no file yet)."""
    from ckan.tests.helpers import call_action

    commune = commune_factory(name="armentieres", insee_code="59017")
    return call_action(
        "package_create",
        context={"user": sysadmin["name"]},
        name="naissances-armentieres",
        title="Naissances",
        notes="Données de test.",
        owner_org=commune["id"],
        data_model="mel-naissances",
    )


@pytest.fixture
def model_dataset(sysadmin):
    """make(organization, data_model, name=None, **fields): a dataset that follows the data
    model, made by a sysadmin, with no file yet (its files: `upload`)."""
    from ckan.tests.helpers import call_action

    def make(organization, data_model="mel-naissances", name=None, **fields):
        return call_action(
            "package_create",
            context={"user": sysadmin["name"]},
            name=name or f"test-{data_model}",
            title="Test",
            notes="Données de test.",
            owner_org=organization["id"],
            data_model=data_model,
            **fields,
        )

    return make


@pytest.fixture
def upload(create_with_upload, sysadmin):
    """make(dataset, content, filename="donnees.csv", user=None, **fields): a file (bytes or
    text) uploaded as a new resource of the dataset, by a sysadmin unless `user` says who."""

    def make(dataset, content, filename="donnees.csv", user=None, **fields):
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        context = {"user": (user or sysadmin)["name"]}
        return create_with_upload(data, filename, package_id=dataset["id"], context=context, **fields)

    return make

"""The feeds' cache (ckanext/mel/feed_cache.py): served warm, never stale, never private.

Every test reads the feed as a harvester does, over HTTP, after a first request
that filled the cache, then changes something through the API and reads again.
"""

from __future__ import annotations

import threading
import zlib
from urllib.parse import urlsplit

import pytest
from ckan import model
from ckan.lib.redis import connect_to_redis
from ckan.plugins import toolkit as tk
from ckan.tests import factories
from ckan.tests.helpers import call_action
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF
from sqlalchemy import text

from ckanext.mel import feed_cache, feeds, profiles
from tests.dcat_data import SITE_URL, datasets_in, get_graph
from tests.helpers import call_as_sysadmin

FEEDS = ["/catalog.ttl", "/catalog.jsonld", "/organization/{name}/catalog.rdf"]


def _uri(dataset: dict) -> str:
    return f"{SITE_URL}/dataset/{dataset['id']}"


def _feed_keys(kind: str) -> list[bytes]:
    return connect_to_redis().keys(f"mel:feeds:{tk.config['ckan.site_id']}:{kind}:*")


@pytest.fixture
def clean_feeds():
    redis = connect_to_redis()
    for cache_key in redis.keys(f"mel:feeds:{tk.config['ckan.site_id']}:*"):
        redis.delete(cache_key)


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_feeds")
class TestWarm:
    def test_a_second_request_is_served_from_the_cache(self, app, commune):
        factories.Dataset(owner_org=commune["id"], title="Équipements publics")
        first = app.get("/catalog.ttl").body
        [cache_key] = _feed_keys("catalogue")
        # Proof that the second answer comes from the cache: what the cache holds is served.
        marked = first.replace("Équipements publics", "Équipements publics (from the cache)")
        ttl = connect_to_redis().ttl(cache_key)
        connect_to_redis().set(cache_key, zlib.compress(marked.encode()), ex=ttl)
        assert "(from the cache)" in app.get("/catalog.ttl").body

    def test_the_dataset_feed_is_cached_too(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        app.get(f"/dataset/{dataset['name']}.ttl")
        app.get(f"/dataset/{dataset['id']}.ttl")
        assert len(_feed_keys("dataset")) == 1

    @pytest.mark.ckan_config("ckanext.mel.feed_cache_seconds", "0")
    def test_turned_off_nothing_is_stored(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        assert datasets_in(get_graph(app, "/catalog.ttl")) == {_uri(dataset)}
        app.get(f"/dataset/{dataset['name']}.ttl")
        assert _feed_keys("catalogue") == [] and _feed_keys("dataset") == []


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_feeds")
class TestNeverStale:
    @pytest.mark.parametrize("feed", FEEDS)
    def test_an_edited_title_shows_at_once(self, app, commune, feed):
        dataset = factories.Dataset(owner_org=commune["id"], title="Avant")
        url = feed.format(name=commune["name"])
        assert (URIRef(_uri(dataset)), DCTERMS.title, Literal("Avant")) in get_graph(app, url)
        call_as_sysadmin("package_patch", id=dataset["id"], title="Après")
        graph = get_graph(app, url)
        assert (URIRef(_uri(dataset)), DCTERMS.title, Literal("Après")) in graph
        assert (URIRef(_uri(dataset)), DCTERMS.title, Literal("Avant")) not in graph

    @pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "1")
    def test_a_change_on_page_one_updates_the_catalogue_s_date_on_page_two(self, app, commune):
        older, newer = (factories.Dataset(owner_org=commune["id"]) for _ in range(2))
        catalogue, url = URIRef(SITE_URL), "/catalog.ttl?page=2"
        graph = get_graph(app, url)
        assert datasets_in(graph) == {_uri(older)}
        before = next(graph.objects(catalogue, DCTERMS.modified))
        call_as_sysadmin("package_patch", id=newer["id"], notes="Changed")
        after = next(get_graph(app, url).objects(catalogue, DCTERMS.modified))
        assert after.toPython() > before.toPython()

    def test_a_renamed_commune_is_the_new_publisher_at_once(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        feeds = [
            "/catalog.ttl",
            f"/organization/{commune['name']}/catalog.ttl",
            f"/dataset/{dataset['id']}.ttl",
        ]
        for url in feeds:
            assert (None, FOAF.name, Literal(commune["title"])) in get_graph(app, url)
        call_as_sysadmin("organization_patch", id=commune["id"], title="Nouveau nom")
        for url in feeds:
            graph = get_graph(app, url)
            assert (None, FOAF.name, Literal("Nouveau nom")) in graph, url
            assert (None, FOAF.name, Literal(commune["title"])) not in graph, url

    def test_an_organisation_change_bumps_the_version_once_committed(self, commune):
        before = feed_cache.organisations_version()
        call_as_sysadmin("organization_patch", id=commune["id"], description="Nouvelle description")
        assert feed_cache.organisations_version() > before

    def test_a_deleted_dataset_leaves_at_once(self, app, commune):
        kept, deleted = (factories.Dataset(owner_org=commune["id"]) for _ in range(2))
        assert datasets_in(get_graph(app, "/catalog.ttl")) == {_uri(kept), _uri(deleted)}
        call_as_sysadmin("package_delete", id=deleted["id"])
        assert datasets_in(get_graph(app, "/catalog.ttl")) == {_uri(kept)}
        app.get(f"/dataset/{deleted['id']}.ttl", status=404)


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_feeds")
class TestNeverPrivate:
    def test_a_dataset_made_private_leaves_every_feed_at_once(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        urls = ["/catalog.ttl", f"/organization/{commune['name']}/catalog.ttl"]
        for url in urls:
            assert _uri(dataset) in datasets_in(get_graph(app, url))
        app.get(f"/dataset/{dataset['id']}.ttl", status=200)
        call_as_sysadmin("package_patch", id=dataset["id"], private=True)
        for url in urls:
            assert _uri(dataset) not in datasets_in(get_graph(app, url))
        app.get(f"/dataset/{dataset['id']}.ttl", status=404)

    def test_a_member_s_request_never_fills_the_cache_with_private_datasets(self, app, commune):
        from tests.helpers import api_token

        editor = factories.User()
        call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
        public = factories.Dataset(owner_org=commune["id"])
        private = factories.Dataset(owner_org=commune["id"], private=True)
        headers = {"Authorization": api_token(editor["name"])}
        for user_headers in (headers, {}):
            for url in ("/catalog.ttl", f"/organization/{commune['name']}/catalog.ttl"):
                assert datasets_in(get_graph(app, url, headers=user_headers)) == {_uri(public)}
        # Feeds are public documents: the member gets no RDF of the private dataset either.
        app.get(f"/dataset/{private['id']}.ttl", headers=headers, status=404)
        for cache_key in _feed_keys("catalogue"):
            assert private["id"] not in zlib.decompress(connect_to_redis().get(cache_key)).decode()

    def test_a_private_dataset_made_public_appears_at_once(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"], private=True)
        assert datasets_in(get_graph(app, "/catalog.ttl")) == set()
        call_as_sysadmin("package_patch", id=dataset["id"], private=False)
        assert datasets_in(get_graph(app, "/catalog.ttl")) == {_uri(dataset)}


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_catalogue_graph_parses_after_a_cache_hit(app, commune):
    """What the cache returns is the same document, byte for byte."""
    factories.Dataset(owner_org=commune["id"])
    first, second = (app.get("/catalog.jsonld").body for _ in range(2))
    assert first == second
    assert len(Graph().parse(data=second, format="json-ld")) > 0


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_feeds")
def test_warming_a_new_worker_computes_the_publishers_and_caches_no_document(app, commune):
    """What gunicorn's post_worker_init runs (wsgi.warm_up): per-process state only, and no
    transaction left open by the thread that ran it (gunicorn's main thread, which serves nothing)."""
    factories.Dataset(owner_org=commune["id"])
    model.Session.commit()
    warmed, checked = threading.Event(), threading.Event()

    def main_thread():
        feeds.warm_up_worker(app.flask_app)
        warmed.set()
        checked.wait(60)  # alive, with whatever session it kept, while the test looks

    worker = threading.Thread(target=main_thread)
    worker.start()
    try:
        assert warmed.wait(60)
        idle = model.Session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
        ).scalar()
    finally:
        checked.set()
        worker.join()
    assert idle == 0
    assert _feed_keys("catalogue") == [] and _feed_keys("dataset") == []
    assert profiles._publishers["version"] == feed_cache.organisations_version()
    assert profiles._publishers["by_id"][commune["id"]].title == commune["title"]


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_feeds")
class TestAnsweredBeforeCkan:
    """A warm dataset feed is answered by feeds.CachedDatasetFeeds, ahead of CKAN's pipeline
    (it says so with `X-Cache: HIT`); whatever it cannot answer for sure goes on to CKAN."""

    HEADERS = ("Content-Type", "Cache-Control", "Vary")

    def test_the_same_document_and_headers_as_ckan_gives(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"], title="Équipements publics")
        url = f"/dataset/{dataset['name']}.ttl"
        built, served = app.get(url), app.get(url)
        assert "X-Cache" not in built.headers and served.headers["X-Cache"] == "HIT"
        assert served.body == built.body
        assert [served.headers[h] for h in self.HEADERS] == [built.headers[h] for h in self.HEADERS]
        # What the cache holds is what is served: the answer did not come from CKAN's view.
        [cache_key] = _feed_keys("dataset")
        marked = built.body.replace("Équipements publics", "Équipements publics (from the cache)")
        connect_to_redis().set(cache_key, zlib.compress(marked.encode()), ex=60)
        assert "(from the cache)" in app.get(f"/dataset/{dataset['id']}.ttl").body

    @pytest.mark.parametrize("change", [{"private": True}, {"state": "deleted"}, {"type": "reuse"}])
    def test_a_dataset_no_longer_public_is_never_answered_from_the_cache(self, app, commune, change):
        dataset = factories.Dataset(owner_org=commune["id"])
        url = f"/dataset/{dataset['id']}.ttl"
        app.get(url)
        assert app.get(url).headers["X-Cache"] == "HIT"
        # Straight in the table, as no action would: metadata_modified stays, so the key is the same.
        model.Session.execute(
            model.package_table.update().where(model.package_table.c.id == dataset["id"]).values(**change)
        )
        model.Session.commit()
        assert "X-Cache" not in app.get(url, status=404).headers

    def test_an_edited_dataset_is_built_again(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"], title="Avant")
        url = f"/dataset/{dataset['id']}.ttl"
        app.get(url)
        call_as_sysadmin("package_patch", id=dataset["id"], title="Après")
        answer = app.get(url)
        assert "X-Cache" not in answer.headers and "Après" in answer.body

    def test_a_session_a_token_or_a_cors_request_goes_to_ckan(self, app, commune):
        from tests.helpers import api_token

        user = factories.User()
        dataset = factories.Dataset(owner_org=commune["id"])
        url = f"/dataset/{dataset['id']}.ttl"
        expected = app.get(url).body
        for headers in [{"Authorization": api_token(user["name"])}, {"Origin": "https://reuse.example.org"}]:
            answer = app.get(url, headers=headers)
            assert "X-Cache" not in answer.headers, headers
            assert answer.body == expected
        # A feed is the same document in every interface language (CKAN 2.11 strips the prefix
        # before this middleware, 2.12 after it: either way the same answer).
        assert app.get(f"/en{url}").body == expected
        browser = app.test_client()  # a client of its own, whose every request sends the cookie
        browser.set_cookie("ckan", "a-session", domain=urlsplit(tk.config["ckan.site_url"]).hostname)
        answer = browser.get(url)
        assert "X-Cache" not in answer.headers and answer.get_data(as_text=True) == expected

    def test_a_bad_parameter_gets_ckan_s_400(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        url = f"/dataset/{dataset['id']}.ttl"
        app.get(url)
        answer = app.get(f"{url}?profiles=nope", status=400)
        assert "X-Cache" not in answer.headers and "nope" in answer.body

"""The DCAT feeds: the portal's catalogue, each commune's, the datasets' and negotiation.

Only public, active datasets appear, on every page of every feed; paging links
keep a commune's feed on its own URL.
"""

from __future__ import annotations

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from ckanext.dcat.processors import HYDRA
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCAT, DCTERMS

from tests.dcat_data import RDF_FORMATS, datasets_in, get_graph
from tests.helpers import call_as_sysadmin


def _walk(app, url: str) -> tuple[set[str], list[str]]:
    """Every dataset of every page of a feed, following hydra:next; and the pages' URLs."""
    seen: set[str] = set()
    pages = [url]
    while True:
        graph = get_graph(app, pages[-1])
        found = datasets_in(graph)
        assert not found & seen, "a dataset appears on two pages"
        seen |= found
        following = next(graph.objects(None, HYDRA.next), None)
        if following is None:
            return seen, pages
        pages.append(str(following))


def _uri(dataset: dict) -> str:
    return f"http://test.ckan.net/dataset/{dataset['id']}"


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestFormats:
    @pytest.mark.parametrize("extension", sorted(RDF_FORMATS))
    def test_catalogue_in_each_format(self, app, extension, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        response = app.get(f"/catalog.{extension}")
        graph = Graph().parse(data=response.body, format=RDF_FORMATS[extension])
        assert datasets_in(graph) == {_uri(dataset)}
        assert (URIRef("http://test.ckan.net"), RDF.type, DCAT.Catalog) in graph

    @pytest.mark.parametrize("extension", sorted(RDF_FORMATS))
    def test_commune_catalogue_in_each_format(self, app, extension, commune_factory):
        commune, other = commune_factory(), commune_factory()
        dataset = factories.Dataset(owner_org=commune["id"])
        factories.Dataset(owner_org=other["id"])
        response = app.get(f"/organization/{commune['name']}/catalog.{extension}")
        assert datasets_in(Graph().parse(data=response.body, format=RDF_FORMATS[extension])) == {
            _uri(dataset)
        }

    @pytest.mark.parametrize("extension", ["ttl", "rdf", "jsonld"])
    def test_dataset_in_each_format(self, app, extension, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        response = app.get(f"/dataset/{dataset['name']}.{extension}")
        graph = Graph().parse(data=response.body, format=RDF_FORMATS[extension])
        assert (URIRef(_uri(dataset)), DCTERMS.title, None) in graph

    def test_commune_feed_by_insee_code(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        assert datasets_in(get_graph(app, f"/organization/{commune['insee_code']}/catalog.ttl")) == {
            _uri(dataset)
        }

    def test_unknown_organisation_or_format(self, app, commune):
        app.get("/organization/nowhere/catalog.ttl", status=404)
        app.get(f"/organization/{commune['name']}/catalog.pdf", status=404)

    def test_content_negotiation(self, app, commune):
        dataset = factories.Dataset(owner_org=commune["id"])
        catalogue = app.get("/", headers={"Accept": "text/turtle"})
        assert catalogue.headers["Content-Type"].startswith("text/turtle")
        assert datasets_in(Graph().parse(data=catalogue.body, format="turtle")) == {_uri(dataset)}
        page = app.get(f"/dataset/{dataset['name']}", headers={"Accept": "application/ld+json"})
        assert page.headers["Content-Type"].startswith("application/ld+json")
        assert (URIRef(_uri(dataset)), RDF.type, DCAT.Dataset) in Graph().parse(
            data=page.body, format="json-ld"
        )
        html = app.get(f"/dataset/{dataset['name']}", headers={"Accept": "text/html"})
        assert html.headers["Content-Type"].startswith("text/html")


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "2")
class TestPaging:
    def test_the_portal_catalogue_pages_through_every_public_dataset(self, app, commune_factory):
        communes = [commune_factory(), commune_factory()]
        datasets = [factories.Dataset(owner_org=communes[i % 2]["id"]) for i in range(5)]
        seen, pages = _walk(app, "/catalog.ttl")
        assert seen == {_uri(d) for d in datasets}
        assert len(pages) == 3

    def test_a_commune_feed_pages_on_its_own_url(self, app, commune_factory):
        commune, other = commune_factory(), commune_factory()
        mine = [factories.Dataset(owner_org=commune["id"]) for _ in range(5)]
        factories.Dataset(owner_org=other["id"])
        seen, pages = _walk(app, f"/organization/{commune['name']}/catalog.ttl")
        assert seen == {_uri(d) for d in mine}
        assert pages[1:] == [
            f"http://test.ckan.net/organization/{commune['name']}/catalog.ttl?page=2",
            f"http://test.ckan.net/organization/{commune['name']}/catalog.ttl?page=3",
        ]
        last = get_graph(app, pages[-1])
        assert (None, HYDRA.totalItems, None) in last

    def test_the_fq_form_keeps_its_filter_in_the_paging_links(self, app, commune_factory):
        commune, other = commune_factory(), commune_factory()
        mine = [factories.Dataset(owner_org=commune["id"]) for _ in range(3)]
        factories.Dataset(owner_org=other["id"])
        seen, pages = _walk(app, f"/catalog.ttl?fq=organization:{commune['name']}")
        assert seen == {_uri(d) for d in mine}
        assert f"fq=organization:{commune['name']}" in pages[1]


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "2")
class TestOnlyPublicActiveDatasets:
    @pytest.fixture
    def mixed(self, commune_factory):
        """Two communes: 4 public datasets (2 pages of the commune's feed, 3 of the portal's)
        and, in the first commune, a private, a draft and a deleted dataset."""
        commune, other = commune_factory(), commune_factory()
        member = factories.User()
        call_action("organization_member_create", id=commune["id"], username=member["name"], role="editor")
        deleted = factories.Dataset(owner_org=commune["id"])
        call_as_sysadmin("package_delete", id=deleted["id"])
        public = [factories.Dataset(owner_org=c["id"]) for c in (commune, commune, commune, other)]
        hidden = [
            factories.Dataset(owner_org=commune["id"], private=True),
            factories.Dataset(owner_org=commune["id"], state="draft"),
            deleted,
        ]
        return commune, member, public, hidden

    # A `fq` may name other states or capacities: they must not bring anything in.
    FEEDS = [
        "/catalog.ttl",
        "/catalog.ttl?fq=%2Bstate:draft",
        "/catalog.ttl?fq=%2Bstate:deleted",
        "/catalog.ttl?fq=capacity:private",
        "/organization/{name}/catalog.ttl",
        "/organization/{name}/catalog.rdf?fq=%2Bstate:draft",
    ]

    @pytest.mark.parametrize("feed", FEEDS)
    def test_anonymous(self, app, mixed, feed):
        commune, _member, public, hidden = mixed
        seen, _pages = _walk(app, feed.format(name=commune["name"]))
        assert not seen & {_uri(d) for d in hidden}
        if "state" not in feed and "private" not in feed:
            expected = public if feed.startswith("/catalog") else public[:3]
            assert seen == {_uri(d) for d in expected}

    @pytest.mark.parametrize("feed", FEEDS)
    def test_a_member_of_the_commune_and_a_sysadmin(self, app, mixed, feed):
        commune, member, _public, hidden = mixed
        for user in (member, factories.Sysadmin()):
            url = feed.format(name=commune["name"])
            seen = datasets_in(get_graph(app, url, headers={"Authorization": _token(user)}))
            assert not seen & {_uri(d) for d in hidden}

    def test_the_search_action(self, app, mixed):
        commune, _member, public, _hidden = mixed
        for fq in ("", "%2Bstate:draft", f"organization:{commune['name']}"):
            response = app.get(f"/api/3/action/dcat_catalog_search?format=ttl&fq={fq}")
            found = datasets_in(Graph().parse(data=response.json["result"], format="turtle"))
            assert found <= {_uri(d) for d in public}

    def test_private_draft_and_deleted_dataset_endpoints_are_refused(self, app, mixed):
        _commune, _member, _public, hidden = mixed
        for dataset in hidden:
            assert app.get(f"/dataset/{dataset['id']}.ttl").status_code in (403, 404)


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_an_expired_commune_keeps_its_public_datasets_in_the_feeds(app, commune):
    call_action(
        "mel_enrolment_create",
        organization=commune["id"],
        start_date="2020-01-01",
        end_date="2020-06-30",
    )
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "expired"
    dataset = factories.Dataset(owner_org=commune["id"])
    assert _uri(dataset) in datasets_in(get_graph(app, "/catalog.ttl"))
    assert _uri(dataset) in datasets_in(get_graph(app, f"/organization/{commune['name']}/catalog.ttl"))


def _token(user: dict) -> str:
    from tests.helpers import api_token

    return api_token(user["name"])


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.ckan_config("ckanext.dcat.datasets_per_page", "1")
@pytest.mark.parametrize("url", ["/catalog.ttl", "/catalog.rdf"])
def test_a_query_with_spaces_pages_through_valid_links(app, url, commune_factory):
    """The paging links are IRIs an RDF parser accepts, whatever the query (they used to be 500s)."""
    communes = commune_factory(), commune_factory(), commune_factory()
    datasets = [factories.Dataset(owner_org=c["id"]) for c in communes]
    fq = f"organization:{communes[0]['name']} OR organization:{communes[1]['name']}"
    seen, pages = _walk(app, f"{url}?fq={fq.replace(' ', '%20')}")
    assert seen == {_uri(d) for d in datasets[:2]}
    assert len(pages) == 2 and " " not in pages[1]

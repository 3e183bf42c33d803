"""Feed parameters as a hostile or careless client sends them (issue #11, points 4 and 6).

Feeds are public documents: built as an anonymous visitor sees the portal, whoever
asks, with a commune's filter applied as a filter of its own. Malformed
parameters get a 400 that says what is wrong, never a 500.
"""

from __future__ import annotations

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph

from tests.dcat_data import RDF_FORMATS, SITE_URL, datasets_in, get_graph
from tests.helpers import api_token, call_as_sysadmin

CONTENT_TYPES = {
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "xml": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "n3": "text/n3",
}
WIDENING = ["OR(*:*)", "OR(*:*)OR", "*:* OR *:*", ") OR (*:*", "-owner_org:x OR *:*", "capacity:private"]


def _uri(dataset: dict) -> str:
    return f"{SITE_URL}/dataset/{dataset['id']}"


@pytest.fixture
def portal(commune_factory):
    """Two communes with a public dataset each; the first also has a private one and a draft,
    and an editor."""
    commune, other = commune_factory(title="Équipements publics de Wicres"), commune_factory()
    editor = factories.User()
    call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
    mine = factories.Dataset(owner_org=commune["id"], title="Équipements publics")
    theirs = factories.Dataset(owner_org=other["id"])
    private = factories.Dataset(owner_org=commune["id"], private=True)
    draft = factories.Dataset(owner_org=commune["id"], state="draft")
    return {
        "commune": commune,
        "editor": editor,
        "mine": mine,
        "theirs": theirs,
        "hidden": {_uri(private), _uri(draft)},
    }


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestCharset:
    """udata (data.gouv.fr) decodes a feed by its declared charset, ISO-8859-1 without one."""

    @pytest.mark.parametrize("extension", sorted(CONTENT_TYPES))
    def test_every_rdf_answer_declares_utf_8(self, app, portal, extension):
        commune, mine = portal["commune"], portal["mine"]
        urls = [
            f"/catalog.{extension}",
            f"/organization/{commune['name']}/catalog.{extension}",
            f"/dataset/{mine['name']}.{extension}",
        ]
        for url in urls:
            response = app.get(url, status=200)
            assert response.headers["Content-Type"] == f"{CONTENT_TYPES[extension]}; charset=utf-8", url
            text = response.get_data().decode(response.mimetype_params["charset"])
            assert "Équipements publics" in text, url

    def test_content_negotiation_declares_it_too(self, app, portal):
        response = app.get("/", headers={"Accept": "text/turtle"})
        assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
        response = app.get(f"/dataset/{portal['mine']['name']}", headers={"Accept": "application/ld+json"})
        assert response.headers["Content-Type"] == "application/ld+json; charset=utf-8"


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestFeedsAreAnonymous:
    @pytest.mark.parametrize("fq", WIDENING)
    def test_a_commune_feed_cannot_be_widened_to_other_communes(self, app, portal, fq):
        response = app.get(f"/organization/{portal['commune']['name']}/catalog.ttl", query_string={"fq": fq})
        if response.status_code == 200:
            found = datasets_in(Graph().parse(data=response.body, format="turtle"))
            assert found <= {_uri(portal["mine"])}
        else:
            assert response.status_code == 400

    @pytest.mark.parametrize("fq", WIDENING)
    def test_a_member_gets_no_private_dataset_or_draft_whatever_the_fq(self, app, portal, fq):
        headers = {"Authorization": api_token(portal["editor"]["name"])}
        for url in ("/catalog.ttl", f"/organization/{portal['commune']['name']}/catalog.ttl"):
            response = app.get(url, query_string={"fq": fq}, headers=headers)
            assert response.status_code in (200, 400), (url, fq)
            if response.status_code == 200:
                found = datasets_in(Graph().parse(data=response.body, format="turtle"))
                assert not found & portal["hidden"], (url, fq)

    def test_a_sysadmin_sees_the_anonymous_feed(self, app, portal):
        headers = {"Authorization": api_token(factories.Sysadmin()["name"])}
        found = datasets_in(get_graph(app, "/catalog.ttl?fq=capacity:private%20OR%20*:*", headers=headers))
        assert found == {_uri(portal["mine"]), _uri(portal["theirs"])}

    def test_a_query_with_spaces_pages_with_valid_links(self, app, portal, commune_factory):
        names = f"organization:{portal['commune']['name']} OR organization:nowhere"
        graph = get_graph(app, "/catalog.ttl?" + "fq=" + names.replace(" ", "%20"))
        assert datasets_in(graph) == {_uri(portal["mine"])}


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestBadParameters:
    @pytest.mark.parametrize(
        "query, says",
        [
            ({"fq": ")"}, "fq"),
            ({"fq": "title:("}, "fq"),
            ({"q": "title:[a TO"}, "fq"),
            ({"fq": "{!join from=id to=id}*:*"}, "fq"),
            ({"page": "99999999999"}, "page"),
            ({"page": "0"}, "page"),
            ({"page": "-1"}, "page"),
            ({"page": "deux"}, "page"),
            ({"page": "²"}, "page"),
            ({"modified_since": "99999999999999999999"}, "modified_since"),
            ({"modified_since": "2025-13-45"}, "modified_since"),
            ({"modified_since": "yesterday"}, "modified_since"),
            ({"profiles": "nope"}, "nope"),
            ({"fq": "a" * 1001}, "1000"),
            ({"q": "lille\x00"}, "NUL"),
        ],
    )
    def test_a_400_that_says_what_is_wrong(self, app, portal, query, says):
        for url in ("/catalog.ttl", f"/organization/{portal['commune']['name']}/catalog.jsonld"):
            response = app.get(url, query_string=query, status=400)
            assert says in response.body, (url, query)

    def test_a_dated_query_in_any_time_zone(self, app, portal):
        for since in ("2000-01-01", "2000-01-01T10:00:00+02:00", "2000-01-01T08:00:00Z"):
            found = datasets_in(get_graph(app, f"/catalog.ttl?modified_since={since.replace('+', '%2B')}"))
            assert found == {_uri(portal["mine"]), _uri(portal["theirs"])}
        assert datasets_in(get_graph(app, "/catalog.ttl?modified_since=9999-01-01")) == set()

    def test_a_page_after_the_last_is_empty_not_an_error(self, app, portal):
        assert datasets_in(get_graph(app, "/catalog.ttl?page=1000")) == set()

    def test_an_unknown_dataset_profile_on_the_dataset_feed(self, app, portal):
        response = app.get(f"/dataset/{portal['mine']['name']}.ttl?profiles=nope", status=400)
        assert "nope" in response.body


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_any_parameters_give_a_200_or_a_400_and_never_a_hidden_dataset(app, portal):
    """Property: over any parameters, a feed answers 200 or 400, never shows a hidden dataset."""
    commune = portal["commune"]
    call_as_sysadmin("package_patch", id=portal["mine"]["id"], notes="Hypothesis")
    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
    values = st.one_of(
        text,
        st.integers(min_value=-(10**20), max_value=10**20).map(str),
        st.sampled_from(WIDENING + ["*:*", "organization:" + commune["name"], "2025-01-01T00:00:00Z"]),
    )
    parameters = st.dictionaries(
        st.sampled_from(["page", "modified_since", "q", "fq", "profiles"]), values, max_size=4
    )
    headers = {"Authorization": api_token(portal["editor"]["name"])}

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        parameters=parameters,
        url=st.sampled_from(["/catalog.ttl", f"/organization/{commune['name']}/catalog.jsonld"]),
    )
    def check(parameters, url):
        response = app.get(url, query_string=parameters, headers=headers)
        assert response.status_code in (200, 400), (url, parameters, response.status_code)
        if response.status_code == 200:
            extension = url.rsplit(".", 1)[-1]
            found = datasets_in(Graph().parse(data=response.body, format=RDF_FORMATS[extension]))
            assert not found & portal["hidden"]
            if "organization/" in url:
                assert found <= {_uri(portal["mine"])}

    check()

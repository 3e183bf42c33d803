"""Reuses: proposed by anyone logged in, reviewed by MEL staff (or the communes whose data
they use), listed on their datasets, on the Reuses page, on Ma commune and in the console;
never a dataset of a commune's quota, of the DCAT feeds or of the enrolment rule."""

import json
import re
import uuid

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests import factories
from ckan.tests.helpers import call_action
from rdflib import RDF, Graph
from rdflib.namespace import DCAT

from ckanext.mel import communes, quota, reuses
from tests.helpers import PASSWORD, auth_header, csrf_token, login

# Most tests share the database (a reset costs seconds): each makes its own communes,
# datasets and users, with unique names, and looks only at them.


def _as(user, action, **data_dict):
    return call_action(
        action, context={"user": user["name"] if user else "", "ignore_auth": False}, **data_dict
    )


def _title(prefix="Trouver un parc"):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def _propose(user, datasets, **fields):
    values = {
        "title": _title(),
        "notes": "Une carte des parcs et jardins, sur téléphone.",
        "reuse_type": "application",
        "producer_kind": "company",
        "producer_name": "Parcs & Cie (fictive)",
        "url": "https://parcs.example.org",
        "reuse_datasets": [d["name"] for d in datasets],
    }
    values.update(fields)
    return _as(user, "mel_reuse_propose", **values)


def _log(reuse):
    """The review history as package_show gives it: JSON text."""
    return json.loads(reuse["review_log"])


@pytest.fixture
def mel():
    """The MEL's organisation, made once for the tests that share the database."""
    organization = model.Group.by_name(communes.mel_organization_name())
    if organization is None:
        factories.Organization(name=communes.mel_organization_name(), title=communes.MEL_TITLE)
        organization = model.Group.by_name(communes.mel_organization_name())
    return organization


@pytest.fixture
def staff(mel):
    """An admin of the MEL's organisation, not a sysadmin."""
    user = factories.User(password=PASSWORD)
    call_action("organization_member_create", id=mel.id, username=user["name"], role="admin")
    return user


def _new_commune(commune_factory):
    """A commune whose name and INSEE code no earlier test used (the database is shared)."""
    import random

    while True:
        code = f"{random.randint(10, 99)}{random.randint(0, 999):03d}"
        if communes.commune_for_insee(code) is None:
            break
    suffix = uuid.uuid4().hex[:10]
    return commune_factory(name=f"commune-{suffix}", title=f"Commune {suffix}", insee_code=code)


@pytest.fixture
def commune(commune_factory):
    return _new_commune(commune_factory)


@pytest.fixture
def data(mel, commune_factory):
    """Two communes with a public dataset each, an admin for the first, and a proposer."""
    lille, roubaix = _new_commune(commune_factory), _new_commune(commune_factory)
    admin = factories.User()
    call_action("organization_member_create", id=lille["id"], username=admin["name"], role="admin")
    return {
        "lille": lille,
        "roubaix": roubaix,
        "lille_parks": factories.Dataset(owner_org=lille["id"], title="Parcs de Lille"),
        "roubaix_parks": factories.Dataset(owner_org=roubaix["id"], title="Parcs de Roubaix"),
        "lille_admin": admin,
        "proposer": factories.User(),
    }


class TestPropose:
    def test_anyone_logged_in_proposes_and_it_waits_for_review(self, data, mel):
        title = _title("Trouver un parc à Lille")
        reuse = _propose(data["proposer"], [data["lille_parks"]], title=title)

        assert reuse["type"] == "reuse" and reuse["private"] is True
        assert reuse["owner_org"] == mel.id
        assert reuse["review_status"] == "proposed"
        assert reuse["name"] == communes.slugify(title)
        assert reuse["reuse_datasets"] == [data["lille_parks"]["id"]]
        [entry] = _log(reuse)
        assert entry["action"] == "proposed" and entry["user"] == data["proposer"]["name"]
        assert call_action("mel_reuse_list", commune=data["lille"]["name"])["count"] == 0

    def test_anonymous_visitors_cannot_propose(self, data):
        with pytest.raises(tk.NotAuthorized):
            _propose(None, [data["lille_parks"]])

    def test_the_portal_decides_owner_review_and_visibility(self, data, mel):
        reuse = _propose(
            data["proposer"],
            [data["lille_parks"]],
            owner_org=data["lille"]["id"],
            private=False,
            review_status="published",
            review_log=[{"action": "published", "user": "someone"}],
        )
        assert reuse["owner_org"] == mel.id and reuse["private"] is True
        assert reuse["review_status"] == "proposed"
        assert [e["action"] for e in _log(reuse)] == ["proposed"]

    def test_a_second_proposal_with_the_same_title_gets_its_own_name(self, data):
        title = _title()
        first = _propose(data["proposer"], [data["lille_parks"]], title=title)
        second = _propose(data["proposer"], [data["lille_parks"]], title=title)
        assert second["name"] == first["name"] + "-2"

    @pytest.mark.parametrize(
        "fields, key",
        [
            ({"reuse_datasets": []}, "reuse_datasets"),
            ({"reuse_datasets": ["no-such-dataset"]}, "reuse_datasets"),
            ({"url": "javascript:alert(1)"}, "url"),
            ({"image_url": "ftp://example.org/a.png"}, "image_url"),
            ({"reuse_type": "game"}, "reuse_type"),
            ({"producer_kind": "commune", "producer_commune": ""}, "producer_commune"),
            ({"title": ""}, "title"),
        ],
    )
    def test_bad_input_is_refused_on_the_field(self, data, fields, key):
        with pytest.raises(tk.ValidationError) as error:
            _propose(data["proposer"], [data["lille_parks"]], **fields)
        assert key in error.value.error_dict

    def test_only_public_datasets_and_never_another_reuse(self, data, staff):
        private = factories.Dataset(owner_org=data["lille"]["id"], private=True)
        with pytest.raises(tk.ValidationError) as error:
            _propose(data["proposer"], [private])
        assert "reuse_datasets" in error.value.error_dict
        other = _propose(data["proposer"], [data["lille_parks"]])
        _as(staff, "mel_reuse_publish", id=other["id"])
        with pytest.raises(tk.ValidationError) as error:
            _propose(data["proposer"], [other])
        assert "reuse_datasets" in error.value.error_dict

    def test_a_commune_producer_names_the_commune(self, data):
        reuse = _propose(
            data["proposer"],
            [data["lille_parks"]],
            producer_kind="commune",
            producer_commune=data["lille"]["name"],
        )
        assert reuse["producer_commune"] == data["lille"]["name"]

    @pytest.mark.ckan_config("ckanext.mel.reuses.max_pending", "2")
    def test_proposals_awaiting_review_are_limited_per_user(self, data):
        _propose(data["proposer"], [data["lille_parks"]])
        _propose(data["proposer"], [data["lille_parks"]])
        with pytest.raises(tk.ValidationError) as error:
            _propose(data["proposer"], [data["lille_parks"]])
        assert "2" in error.value.error_dict["title"][0]

    def test_a_proposal_is_seen_by_its_proposer_and_reviewers_only(self, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        assert _as(data["proposer"], "mel_reuse_show", id=reuse["id"])["review_status"] == "proposed"
        assert (
            _as(staff, "mel_reuse_show", id=reuse["id"])["datasets"][0]["name"] == data["lille_parks"]["name"]
        )
        assert _as(data["lille_admin"], "mel_reuse_show", id=reuse["id"])
        for someone in (factories.User(), None):
            with pytest.raises(tk.NotAuthorized):
                _as(someone, "mel_reuse_show", id=reuse["id"])
        with pytest.raises(tk.NotAuthorized):
            _as(factories.User(), "package_show", id=reuse["id"])


class TestReview:
    def test_staff_publish_and_the_reuse_becomes_public(self, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        published = _as(staff, "mel_reuse_publish", id=reuse["id"])

        assert published["private"] is False and published["review_status"] == "published"
        assert [e["action"] for e in _log(published)] == ["proposed", "published"]
        assert _log(published)[1]["user"] == staff["name"]
        assert _as(None, "mel_reuse_show", id=reuse["id"])["title"] == reuse["title"]
        listed = call_action("mel_reuse_list", commune=data["lille"]["name"])["results"]
        assert [r["name"] for r in listed] == [reuse["name"]]

    def test_a_commune_admin_publishes_reuses_of_the_communes_own_data(self, data):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        assert _as(data["lille_admin"], "mel_reuse_publish", id=reuse["id"])["review_status"] == "published"

    def test_a_commune_admin_cannot_publish_what_uses_other_data(self, data):
        both = _propose(data["proposer"], [data["lille_parks"], data["roubaix_parks"]])
        roubaix_only = _propose(data["proposer"], [data["roubaix_parks"]])
        for reuse in (both, roubaix_only):
            with pytest.raises(tk.NotAuthorized):
                _as(data["lille_admin"], "mel_reuse_publish", id=reuse["id"])

    def test_editors_proposers_and_strangers_cannot_review(self, data):
        editor = factories.User()
        call_action(
            "organization_member_create", id=data["lille"]["id"], username=editor["name"], role="editor"
        )
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        for someone in (editor, data["proposer"], factories.User()):
            for action, extra in (("mel_reuse_publish", {}), ("mel_reuse_refuse", {"reason": "Non."})):
                with pytest.raises(tk.NotAuthorized):
                    _as(someone, action, id=reuse["id"], **extra)
        assert model.Package.get(reuse["id"]).private is True

    def test_a_refusal_needs_a_reason_which_the_proposer_reads(self, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        with pytest.raises(tk.ValidationError) as error:
            _as(staff, "mel_reuse_refuse", id=reuse["id"], reason="  ")
        assert "reason" in error.value.error_dict

        refused = _as(staff, "mel_reuse_refuse", id=reuse["id"], reason="Le lien ne répond pas.")
        assert refused["private"] is True and refused["review_status"] == "refused"
        shown = _as(data["proposer"], "mel_reuse_show", id=reuse["id"])
        assert shown["review_log"][-1] == {
            "action": "refused",
            "user": staff["name"],
            "timestamp": shown["review_log"][-1]["timestamp"],
            "reason": "Le lien ne répond pas.",
        }
        assert call_action("mel_reuse_list", commune=data["lille"]["name"])["count"] == 0
        with pytest.raises(tk.NotAuthorized):
            _as(factories.User(), "mel_reuse_show", id=reuse["id"])

    def test_a_published_reuse_can_be_withdrawn(self, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        _as(staff, "mel_reuse_publish", id=reuse["id"])
        _as(staff, "mel_reuse_refuse", id=reuse["id"], reason="Service fermé.")
        assert model.Package.get(reuse["id"]).private is True
        assert call_action("mel_reuse_list", commune=data["lille"]["name"])["count"] == 0

    def test_an_edit_never_publishes(self, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        edited = _as(staff, "package_patch", id=reuse["id"], review_status="published", private=False)
        assert edited["review_status"] == "proposed" and edited["private"] is True
        assert [e["action"] for e in _log(edited)] == ["proposed"]
        # CKAN's edit form sends no datasets: the stored ones stay.
        form = {k: v for k, v in edited.items() if k not in ("reuse_datasets", "review_log", "review_status")}
        updated = _as(staff, "package_update", **{**form, "title": "Trouver un parc, v2"})
        assert updated["reuse_datasets"] == [data["lille_parks"]["id"]] and updated["title"].endswith("v2")
        assert updated["review_status"] == "proposed"

    def test_the_review_queue_holds_what_the_user_may_review(self, data, staff):
        lille = _propose(data["proposer"], [data["lille_parks"]], title="Parcs lillois")
        roubaix = _propose(data["proposer"], [data["roubaix_parks"]], title="Parcs roubaisiens")
        staff_queue = _as(staff, "mel_reuse_list", status="proposed", rows=100)
        assert {lille["id"], roubaix["id"]} <= {r["id"] for r in staff_queue["results"]}
        assert staff_queue["results"][0]["id"] == roubaix["id"]  # newest first
        admin_queue = _as(data["lille_admin"], "mel_reuse_list", status="proposed")
        assert [r["id"] for r in admin_queue["results"]] == [lille["id"]]
        assert _as(factories.User(), "mel_reuse_list", status="proposed")["count"] == 0


class TestList:
    @pytest.fixture
    def published(self, data, staff):
        made = {}
        for title, kind, datasets in (
            ("Carte des parcs", "application", [data["lille_parks"]]),
            ("Visualisation des parcs", "visualisation", [data["lille_parks"], data["roubaix_parks"]]),
            ("Article Roubaix", "article", [data["roubaix_parks"]]),
        ):
            reuse = _propose(data["proposer"], datasets, title=title, reuse_type=kind)
            made[title] = _as(staff, "mel_reuse_publish", id=reuse["id"])
        _propose(data["proposer"], [data["lille_parks"]], title="En attente")
        return made

    def test_filters_by_type_and_by_commune_with_their_counts(self, data, published):
        lille, roubaix = data["lille"]["name"], data["roubaix"]["name"]
        of_lille = call_action("mel_reuse_list", commune=lille)
        assert of_lille["count"] == 2
        assert of_lille["facets"]["type"] == {"application": 1, "visualisation": 1}
        assert of_lille["facets"]["commune"] == {lille: 2, roubaix: 1}

        def titles(**filters):
            return {r["title"] for r in call_action("mel_reuse_list", **filters)["results"]}

        assert titles(commune=roubaix, type="article") == {"Article Roubaix"}
        assert titles(commune=lille) == {"Carte des parcs", "Visualisation des parcs"}
        assert titles(commune=lille, type="visualisation") == {"Visualisation des parcs"}
        assert titles(dataset=data["roubaix_parks"]["name"]) == {"Visualisation des parcs", "Article Roubaix"}
        counts = call_action("mel_reuse_counts")
        assert (counts[lille], counts[roubaix]) == (2, 2)

    def test_bad_list_parameters_are_validation_errors(self):
        for bad in ({"rows": "many"}, {"status": "lost"}):
            with pytest.raises(tk.ValidationError):
                call_action("mel_reuse_list", **bad)

    def test_the_reuses_page_lists_and_filters(self, app, data, published):
        lille, roubaix = data["lille"]["name"], data["roubaix"]["name"]
        page = app.get("/reutilisations", query_string={"commune": lille})
        assert page.status_code == 200
        assert "Carte des parcs" in page.body and "Visualisation des parcs" in page.body
        assert "En attente" not in page.body and "Article Roubaix" not in page.body
        filtered = app.get("/reutilisations", query_string={"type": "article", "commune": roubaix}).body
        assert "Article Roubaix" in filtered and "Visualisation des parcs" not in filtered
        assert "Article Roubaix" in app.get("/reutilisations").body  # newest first, unfiltered
        assert app.get("/reutilisations", query_string={"type": "jeu"}).status_code == 400

    def test_the_dataset_page_says_reused_by_n_applications_with_links(self, app, data, published):
        body = app.get(f"/dataset/{data['lille_parks']['name']}").body
        assert "Réutilisé par 2 applications" in body
        link = f'href="/reutilisations/{published["Carte des parcs"]["name"]}"'
        assert link in body
        assert (
            "Réutilisé par 0 application"
            in app.get(f"/dataset/{factories.Dataset(owner_org=data['lille']['id'])['name']}").body
        )

    def test_the_reuse_page_lists_its_datasets(self, app, data, published):
        body = app.get(f"/reutilisations/{published['Visualisation des parcs']['name']}").body
        assert f'href="/dataset/{data["lille_parks"]["name"]}"' in body
        assert f'href="/dataset/{data["roubaix_parks"]["name"]}"' in body

    def test_an_unpublished_reuse_page_is_not_found_for_others(self, app, data):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        assert app.get(f"/reutilisations/{reuse['name']}", status=404)
        mine = app.get(f"/reutilisations/{reuse['name']}", headers=auth_header(data["proposer"]))
        assert mine.status_code == 200 and "En attente d’examen" in mine.body

    def test_ma_commune_shows_the_reuses_of_the_communes_data(self, app, data, published):
        body = app.get("/ma-commune", headers=auth_header(data["lille_admin"])).body
        assert "2 réutilisations de vos données" in body and "Carte des parcs" in body
        assert "Article Roubaix" not in body

    def test_the_console_counts_them_per_commune(self, app, data, published, staff):
        body = app.get("/ckan-admin/communes", headers=auth_header(staff)).body
        table = body[body.index('id="mel-reuse-counts"') :]
        for commune in (data["lille"], data["roubaix"]):
            row = re.search(
                rf'data-commune="{commune["name"]}">.*?<td class="text-end">(\d+)</td>', table, re.S
            )
            assert row and row.group(1) == "2"


class TestTheFormAndReview:
    def test_a_logged_in_user_proposes_through_the_form_and_staff_publish(self, app, data, staff):
        assert (
            "/user/login" in app.get("/reutilisations/proposer", follow_redirects=False).headers["Location"]
        )
        proposer, title = factories.User(password=PASSWORD), _title("Bancs publics")
        client = login(app, proposer)
        form = client.get(f"/reutilisations/proposer?dataset={data['lille_parks']['name']}").body
        assert f'value="{data["lille_parks"]["id"]}" selected' in form
        token = csrf_token(form)
        response = client.post(
            "/reutilisations/proposer",
            data={
                "_csrf_token": token,
                "title": title,
                "notes": "Où s'asseoir.",
                "reuse_type": "service",
                "producer_kind": "person",
                "producer_name": "Camille (fictive)",
                "url": "https://bancs.example.org",
                "reuse_date": "2025-10-01",
                "reuse_datasets": [data["lille_parks"]["id"]],
            },
        )
        assert response.status_code == 200 and "En attente d’examen" in response.body
        reuse = model.Session.query(model.Package).filter_by(title=title).one()
        assert reuse.creator_user_id == model.User.get(proposer["name"]).id
        reuse_id, reuse_name = reuse.id, reuse.name

        bad = client.post("/reutilisations/proposer", data={"_csrf_token": token, "title": "Sans rien"})
        assert bad.status_code == 200 and 'id="mel-reuse-errors"' in bad.body

        staff_client = login(app, staff)
        page = staff_client.get(f"/reutilisations/{reuse_name}").body
        token = csrf_token(page)
        staff_client.post(f"/reutilisations/{reuse_name}/publier", data={"_csrf_token": token})
        assert reuses.stored(model.Package.get(reuse_id), "review_status") == "published"
        assert title in app.get("/reutilisations", query_string={"commune": data["lille"]["name"]}).body


class TestNeverADataset:
    def test_reuses_never_count_towards_a_quota(self, mel, staff, enrolled_commune):
        datasets = [factories.Dataset(owner_org=enrolled_commune["id"]) for _ in range(5)]
        before = call_action("mel_quota_show", organization=enrolled_commune["id"])
        mel_before = quota.counts(mel.id)
        reuse = _propose(
            enrolled_commune["editor"],
            datasets,
            producer_kind="commune",
            producer_commune=enrolled_commune["name"],
        )
        _as(staff, "mel_reuse_publish", id=reuse["id"])

        assert call_action("mel_quota_show", organization=enrolled_commune["id"]) == before
        assert quota.counts(mel.id) == mel_before
        # Even a reuse row owned by the commune (none can be made so) is not counted.
        model.Session.query(model.Package).filter_by(id=reuse["id"]).update(
            {"owner_org": enrolled_commune["id"]}
        )
        model.Session.commit()
        assert quota.counts(enrolled_commune["id"]) == (5, 5)
        assert quota.dataset_counts()[enrolled_commune["id"]] == (5, 5)

    def test_searches_and_the_dcat_feeds_leave_reuses_out(self, app, data, staff):
        reuse = _propose(data["proposer"], [data["lille_parks"]])
        _as(staff, "mel_reuse_publish", id=reuse["id"])

        assert {d["type"] for d in call_action("package_search", rows=100)["results"]} == {"dataset"}
        asked = call_action("package_search", fq=f'+dataset_type:reuse +name:"{reuse["name"]}"')["results"]
        assert [d["name"] for d in asked] == [reuse["name"]]
        feeds = ("/catalog.ttl", f"/organization/{communes.mel_organization_name()}/catalog.ttl")
        for url in feeds:
            graph = Graph().parse(data=app.get(url, status=200).body, format="turtle")
            datasets = {str(s) for s in graph.subjects(RDF.type, DCAT.Dataset)}
            assert not any(reuse["id"] in s or reuse["name"] in s for s in datasets), url
            assert reuse["title"] not in graph.serialize(format="turtle")
        lille = Graph().parse(
            data=app.get(f"/organization/{data['lille']['name']}/catalog.ttl").body, format="turtle"
        )
        assert len(set(lille.subjects(RDF.type, DCAT.Dataset))) == 1
        assert reuse["title"] not in app.get(f"/organization/{communes.mel_organization_name()}").body

    def test_the_enrolment_rule_never_refuses_a_reuse(self, data, commune):
        """`commune` has no enrolment: its admin can publish no dataset, yet reviews reuses of its data."""
        dataset = factories.Dataset(owner_org=commune["id"])
        admin = factories.User()
        call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
        with pytest.raises(tk.NotAuthorized):
            _as(admin, "package_create", name="refuse", title="T", notes="N", owner_org=commune["id"])
        reuse = _propose(admin, [dataset])
        assert _as(admin, "mel_reuse_publish", id=reuse["id"])["review_status"] == "published"
        _as(admin, "mel_reuse_refuse", id=reuse["id"], reason="Retirée.")


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestDemo:
    def test_the_six_fictional_reuses_are_published_on_the_demo_datasets(
        self, app, mel, commune_factory, ckan_config, tmp_path, monkeypatch
    ):
        from ckanext.mel import demo

        monkeypatch.setitem(ckan_config, "ckan.storage_path", str(tmp_path))
        reference = {c.name: c for c in communes.reference_communes()}
        for name in {entry["commune"] for entry in demo.demo_datasets()}:
            commune_factory(name=name, **reference[name].fields())
        context = {"user": call_action("get_site_user")["name"]}
        demo.load_demo_datasets(dict(context))
        demo.load_demo_datasets(dict(context), entries=demo.metropolitan_datasets())

        assert demo.load_demo_reuses(dict(context)) == {"created": 6, "updated": 0}
        assert demo.load_demo_reuses(dict(context)) == {"created": 0, "updated": 6}

        listed = call_action("mel_reuse_list")
        assert listed["count"] == 6
        assert all("fictive" in r["notes"] and "fictive" in r["producer_name"] for r in listed["results"])
        assert set(listed["facets"]["type"]) == {"application", "service", "visualisation", "api"}
        used = {d for r in listed["results"] for d in r["reuse_datasets"]}
        assert {model.Package.get(d).name for d in used} >= {
            "mel-aires-de-covoiturage",
            "lille-parcs-et-jardins",
        }
        body = app.get("/dataset/mel-aires-de-covoiturage").body
        assert "Réutilisé par 1 application" in body and "Covoit&#39;Métropole" in body

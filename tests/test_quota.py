"""The three-to-five dataset quota: counted from the database, on every path, race-safe."""

from concurrent.futures import ThreadPoolExecutor

import ckan.plugins.toolkit as tk
import pytest
import requests
from ckan import model
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import api_token, call_as_sysadmin


def _count(organization_id):
    return (
        model.Session.query(model.Package)
        .filter(model.Package.owner_org == organization_id, model.Package.state != "deleted")
        .count()
    )


def _create(commune, user, **fields):
    return call_action(
        "package_create",
        context={"user": user["name"], "ignore_auth": False},
        owner_org=commune["id"],
        title=fields.pop("title", "Jeu"),
        notes="Un jeu de données.",
        **fields,
    )


def _fill(commune, n, **fields):
    return [factories.Dataset(owner_org=commune["id"], **fields) for _ in range(n)]


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestLimit:
    def test_the_sixth_dataset_is_refused_with_the_commune_and_the_limit(self, enrolled_commune):
        _fill(enrolled_commune, 5)
        with pytest.raises(tk.ValidationError) as error:
            _create(enrolled_commune, enrolled_commune["editor"], name="sixieme")
        message = error.value.error_dict["owner_org"][0]
        assert enrolled_commune["title"] in message and "5" in message
        assert _count(enrolled_commune["id"]) == 5

    def test_private_and_draft_datasets_count(self, enrolled_commune):
        _fill(enrolled_commune, 2, private=True)
        _fill(enrolled_commune, 3, state="draft")
        with pytest.raises(tk.ValidationError):
            _create(enrolled_commune, enrolled_commune["editor"], name="en-trop")

    def test_deleting_or_purging_frees_a_slot(self, enrolled_commune):
        datasets = _fill(enrolled_commune, 5)
        call_as_sysadmin("package_delete", id=datasets[0]["id"])
        _create(enrolled_commune, enrolled_commune["editor"], name="apres-suppression")
        call_as_sysadmin("dataset_purge", id=datasets[1]["id"])
        _create(enrolled_commune, enrolled_commune["editor"], name="apres-purge")
        assert _count(enrolled_commune["id"]) == 5

    def test_mel_staff_and_sysadmins_are_held_to_it_too(self, enrolled_commune, mel_staff):
        _fill(enrolled_commune, 5)
        # A MEL staffer helping the commune publish, as one of its editors.
        call_action(
            "organization_member_create", id=enrolled_commune["id"], username=mel_staff["name"], role="editor"
        )
        for user in (mel_staff, factories.Sysadmin()):
            with pytest.raises(tk.ValidationError):
                _create(enrolled_commune, user, name=f"par-{user['name']}")

    def test_a_granted_maximum_lets_more_in_and_is_recorded(self, enrolled_commune, mel_staff):
        _fill(enrolled_commune, 5)
        call_action(
            "mel_quota_set",
            context={"user": mel_staff["name"], "ignore_auth": False},
            organization=enrolled_commune["id"],
            maximum=7,
            reason="Projet de la saison culturelle",
        )
        _create(enrolled_commune, enrolled_commune["editor"], name="sixieme")
        history = call_action(
            "mel_enrolment_show", organization=enrolled_commune["id"], include_history=True
        )["history"]
        assert (
            history[-1]["action"],
            history[-1]["maximum"],
            history[-1]["user"],
            history[-1]["reason"],
        ) == (
            "set_quota",
            7,
            mel_staff["name"],
            "Projet de la saison culturelle",
        )

    def test_organisations_that_are_not_communes_have_no_quota(self, mel_organization_factory):
        mel = mel_organization_factory()
        _fill({"id": mel["id"]}, 7)
        assert _count(mel["id"]) == 7

    def test_moving_a_dataset_into_a_full_commune_is_refused(self, enrolled_commune, commune_factory):
        _fill(enrolled_commune, 5)
        elsewhere = commune_factory()
        call_action("mel_enrolment_create", organization=elsewhere["id"])
        dataset = factories.Dataset(owner_org=elsewhere["id"])
        with pytest.raises(tk.ValidationError):
            call_as_sysadmin("package_patch", id=dataset["id"], owner_org=enrolled_commune["id"])
        with pytest.raises(tk.ValidationError):
            call_as_sysadmin(
                "package_owner_org_update", id=dataset["id"], organization_id=enrolled_commune["id"]
            )
        with pytest.raises(tk.ValidationError):
            call_action(
                "package_revise", match={"id": dataset["id"]}, update={"owner_org": enrolled_commune["id"]}
            )
        assert model.Package.get(dataset["id"]).owner_org == elsewhere["id"]

    def test_restoring_a_deleted_dataset_into_a_full_commune_is_refused(self, enrolled_commune):
        first, *_ = _fill(enrolled_commune, 5)
        call_as_sysadmin("package_delete", id=first["id"])
        factories.Dataset(owner_org=enrolled_commune["id"])
        with pytest.raises(tk.ValidationError):
            call_as_sysadmin("package_patch", id=first["id"], state="active")
        assert model.Package.get(first["id"]).state == "deleted"

    def test_updating_a_dataset_of_a_full_commune_is_fine(self, enrolled_commune):
        dataset, *_ = _fill(enrolled_commune, 5)
        updated = call_as_sysadmin("package_patch", id=dataset["id"], title="Nouveau titre")
        assert updated["title"] == "Nouveau titre"


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestStatus:
    def test_show_reports_count_public_count_target_and_maximum(self, enrolled_commune):
        _fill(enrolled_commune, 2)
        _fill(enrolled_commune, 1, private=True)
        shown = call_action("mel_quota_show", organization=enrolled_commune["name"])
        assert shown == {
            "organization": enrolled_commune["name"],
            "count": 3,
            "public_count": 2,
            "minimum": 3,
            "maximum": 5,
            "remaining": 2,
            "status": "incomplete",
        }
        _fill(enrolled_commune, 1)
        assert call_action("mel_quota_show", organization=enrolled_commune["id"])["status"] == "complete"
        _fill(enrolled_commune, 1)
        assert call_action("mel_quota_show", organization=enrolled_commune["id"])["status"] == "full"

    @pytest.mark.ckan_config("ckanext.mel.quota.min", "1")
    @pytest.mark.ckan_config("ckanext.mel.quota.max", "2")
    def test_limits_come_from_the_config(self, enrolled_commune):
        _fill(enrolled_commune, 2)
        with pytest.raises(tk.ValidationError):
            _create(enrolled_commune, enrolled_commune["editor"], name="troisieme")
        assert call_action("mel_quota_show", organization=enrolled_commune["id"])["status"] == "full"

    def test_only_mel_staff_grant_a_maximum(self, enrolled_commune):
        with pytest.raises(tk.NotAuthorized):
            call_action(
                "mel_quota_set",
                context={"user": enrolled_commune["editor"]["name"], "ignore_auth": False},
                organization=enrolled_commune["id"],
                maximum=50,
            )


def _concurrent_creations(live_server, commune, how_many):
    token = api_token(commune["editor"]["name"])

    def create(i):
        return requests.post(
            f"{live_server}/api/3/action/package_create",
            json={
                "name": f"concurrent-{i}",
                "title": f"Jeu {i}",
                "notes": "Course",
                "owner_org": commune["id"],
            },
            headers={"Authorization": token},
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=how_many) as pool:
        return list(pool.map(create, range(how_many)))


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestConcurrency:
    """Twenty agents at once, over HTTP against a live server: separate database sessions."""

    def test_a_commune_holding_four_ends_with_exactly_five(self, live_server, enrolled_commune):
        _fill(enrolled_commune, 4)
        model.Session.commit()
        responses = _concurrent_creations(live_server, enrolled_commune, 20)
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(200) == 1
        assert statuses.count(409) == 19
        refusal = next(r for r in responses if r.status_code == 409).json()["error"]
        assert "5" in str(refusal["owner_org"])
        model.Session.remove()
        assert _count(enrolled_commune["id"]) == 5

    def test_an_empty_commune_ends_with_exactly_five(self, live_server, enrolled_commune):
        model.Session.commit()
        responses = _concurrent_creations(live_server, enrolled_commune, 20)
        assert sorted(r.status_code for r in responses) == [200] * 5 + [409] * 15
        model.Session.remove()
        assert _count(enrolled_commune["id"]) == 5

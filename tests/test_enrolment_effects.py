"""What the enrolment allows: a commune publishes only during its period."""

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action
from freezegun import freeze_time

from tests.helpers import api_token, call_as_sysadmin

# Every write path a commune member has, as (action, data_dict builder).
WRITE_PATHS = {
    "package_create": lambda d, r, c: (
        "package_create",
        {"name": "nouveau", "title": "N", "notes": "n", "owner_org": c},
    ),
    "package_update": lambda d, r, c: ("package_update", {**d, "title": "Changé"}),
    "package_patch": lambda d, r, c: ("package_patch", {"id": d["id"], "title": "Changé"}),
    "package_revise": lambda d, r, c: (
        "package_revise",
        {"match": {"id": d["id"]}, "update": {"title": "Changé"}},
    ),
    "package_delete": lambda d, r, c: ("package_delete", {"id": d["id"]}),
    "resource_create": lambda d, r, c: (
        "resource_create",
        {"package_id": d["id"], "url": "http://example.org/x.csv"},
    ),
    "resource_update": lambda d, r, c: (
        "resource_update",
        {"id": r["id"], "url": "http://example.org/y.csv"},
    ),
    "resource_patch": lambda d, r, c: ("resource_patch", {"id": r["id"], "name": "Changé"}),
    "resource_delete": lambda d, r, c: ("resource_delete", {"id": r["id"]}),
    "bulk_update_private": lambda d, r, c: ("bulk_update_private", {"org_id": c, "datasets": [d["id"]]}),
    "bulk_update_public": lambda d, r, c: ("bulk_update_public", {"org_id": c, "datasets": [d["id"]]}),
    "bulk_update_delete": lambda d, r, c: ("bulk_update_delete", {"org_id": c, "datasets": [d["id"]]}),
}


@pytest.fixture
def publishing_commune(commune):
    """A commune with an admin, one dataset and one resource, enrolled 2017-11-07 → 2018-05-07."""
    admin = factories.User()
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
    with freeze_time("2018-01-15"):
        dataset = factories.Dataset(owner_org=commune["id"])
        resource = factories.Resource(package_id=dataset["id"])
    return commune, admin, call_action("package_show", id=dataset["id"]), resource


def _attempt(path, publishing_commune, user):
    commune, _admin, dataset, resource = publishing_commune
    action, data = WRITE_PATHS[path](dataset, resource, commune["id"])
    return call_action(action, context={"user": user["name"], "ignore_auth": False}, **data)


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.parametrize("path", sorted(WRITE_PATHS))
class TestWritePaths:
    def test_allowed_during_the_period(self, path, publishing_commune):
        with freeze_time("2018-03-01"):
            _attempt(path, publishing_commune, publishing_commune[1])

    def test_refused_after_the_end_naming_the_date_and_the_contact(self, path, publishing_commune):
        with freeze_time("2018-05-08"):
            with pytest.raises(tk.NotAuthorized) as refusal:
                _attempt(path, publishing_commune, publishing_commune[1])
        message = str(refusal.value)
        assert "07/05/2018" in message
        assert tk.config.get("ckanext.mel.contact_email") in message

    def test_refused_when_ended_early(self, path, publishing_commune):
        with freeze_time("2018-03-01"):
            call_action("mel_enrolment_end", organization=publishing_commune[0]["id"])
            with pytest.raises(tk.NotAuthorized):
                _attempt(path, publishing_commune, publishing_commune[1])

    def test_mel_staff_are_never_blocked(self, path, publishing_commune, mel_staff):
        commune = publishing_commune[0]
        call_action("organization_member_create", id=commune["id"], username=mel_staff["name"], role="admin")
        with freeze_time("2018-05-08"):
            _attempt(path, publishing_commune, mel_staff)


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_commune_never_enrolled_cannot_publish(commune):
    admin = factories.User()
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    with pytest.raises(tk.NotAuthorized) as refusal:
        call_action(
            "package_create",
            context={"user": admin["name"], "ignore_auth": False},
            name="jamais",
            title="J",
            notes="n",
            owner_org=commune["id"],
        )
    assert "not enrolled" in str(refusal.value)


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_sysadmin_is_never_blocked(publishing_commune):
    dataset = publishing_commune[2]
    with freeze_time("2019-01-01"):
        call_as_sysadmin("package_patch", id=dataset["id"], title="Corrigé par la MEL")


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_an_expired_communes_datasets_stay_public(publishing_commune, app):
    dataset = publishing_commune[2]
    with freeze_time("2019-01-01"):
        assert call_action("package_search", q=f"id:{dataset['id']}")["count"] == 1
        assert app.get(f"/dataset/{dataset['name']}").status_code == 200


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_edit_form_is_open_during_the_period_and_refused_after(commune, app):
    # Real dates, no frozen clock: API tokens carry real timestamps.
    admin = factories.User()
    call_action("organization_member_create", id=commune["id"], username=admin["name"], role="admin")
    call_action("mel_enrolment_create", organization=commune["id"])
    dataset = factories.Dataset(owner_org=commune["id"])
    headers = {"Authorization": api_token(admin["name"])}
    assert app.get(f"/dataset/edit/{dataset['name']}", headers=headers).status_code == 200

    call_action("mel_enrolment_end", organization=commune["id"])
    app.get(f"/dataset/edit/{dataset['name']}", headers=headers, status=403)
    read = app.get(f"/dataset/{dataset['name']}", headers=headers)
    assert "mel-read-only" in read.body
    assert f"/dataset/edit/{dataset['name']}" not in read.body

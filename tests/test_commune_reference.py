"""A commune's reference data and its existence are the MEL's (issue #11, point 1).

Its admins edit its presentation: description, logo, website, contact.
"""

import json
import re

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import csrf_token, login

SQUARE = {"type": "Polygon", "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.7], [3.0, 50.6]]]}


@pytest.fixture
def commune_admin(commune_factory):
    admin = factories.User(password="correct-horse-battery")
    commune = commune_factory(
        users=[{"name": admin["name"], "capacity": "admin"}],
        postcodes="59000",
        boundary=json.dumps(SQUARE),
    )
    call_action("mel_enrolment_create", organization=commune["id"])
    admin["commune"] = commune
    return admin


def _as(user, action, **data_dict):
    return call_action(action, context={"user": user["name"], "ignore_auth": False}, **data_dict)


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestCommuneAdmin:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("insee_code", ""),
            ("insee_code", "59999"),
            ("siren", "200093201"),
            ("population", 99),
            ("postcodes", "59999"),
            ("title", "Ailleurs"),
            ("name", "ailleurs"),
            ("boundary", json.dumps({"type": "Point", "coordinates": [3.0, 50.0]})),
        ],
    )
    def test_cannot_change_a_reference_field(self, commune_admin, field, value):
        commune = commune_admin["commune"]
        with pytest.raises(tk.NotAuthorized, match="Only MEL staff"):
            _as(commune_admin, "organization_patch", id=commune["id"], **{field: value})
        shown = call_action("organization_show", id=commune["id"])
        assert str(shown[field]) == str(commune[field])

    def test_an_ended_commune_cannot_drop_its_insee_code_to_escape_the_quota(self, commune_admin):
        commune = commune_admin["commune"]
        call_action("mel_enrolment_end", organization=commune["id"])
        with pytest.raises(tk.NotAuthorized):
            _as(commune_admin, "organization_update", id=commune["id"], name=commune["name"], insee_code="")
        with pytest.raises(tk.NotAuthorized):
            _as(commune_admin, "package_create", name="escape", owner_org=commune["id"])

    def test_edits_the_presentation(self, commune_admin):
        commune = commune_admin["commune"]
        _as(
            commune_admin,
            "organization_patch",
            id=commune["id"],
            description="Notre ville",
            website="https://www.ville.fr",
            contact_email="mairie@ville.fr",
            image_url="https://www.ville.fr/logo.png",
        )
        shown = call_action("organization_show", id=commune["id"])
        assert (shown["description"], shown["website"], shown["contact_email"]) == (
            "Notre ville",
            "https://www.ville.fr",
            "mairie@ville.fr",
        )

    def test_an_update_that_leaves_the_reference_fields_out_keeps_them(self, commune_admin):
        commune = commune_admin["commune"]
        _as(
            commune_admin,
            "organization_update",
            id=commune["id"],
            name=commune["name"],
            description="Mise à jour",
        )
        shown = call_action("organization_show", id=commune["id"])
        for field in ("insee_code", "siren", "population", "postcodes", "title", "boundary"):
            assert str(shown[field]) == str(commune[field]), field
        assert shown["description"] == "Mise à jour"

    def test_giving_the_same_values_back_is_fine(self, commune_admin):
        commune = commune_admin["commune"]
        _as(
            commune_admin,
            "organization_patch",
            id=commune["id"],
            insee_code=commune["insee_code"].lower(),
            population=str(commune["population"]),
            boundary=json.dumps(SQUARE, indent=2),
            description="Même chose",
        )

    @pytest.mark.parametrize("action", ["organization_delete", "group_delete", "organization_purge"])
    def test_cannot_delete_or_purge_the_commune(self, commune_admin, action):
        commune = commune_admin["commune"]
        with pytest.raises(tk.NotAuthorized):
            _as(commune_admin, action, id=commune["id"])
        assert model.Group.get(commune["id"]).state == "active"

    def test_group_update_is_held_to_the_same_rule(self, commune_admin):
        commune = commune_admin["commune"]
        with pytest.raises(tk.NotAuthorized):
            _as(commune_admin, "group_patch", id=commune["id"], insee_code="")


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestMelStaff:
    def test_mel_staff_change_the_reference_fields_and_delete(self, commune_admin, mel_staff):
        commune = commune_admin["commune"]
        _as(mel_staff, "organization_patch", id=commune["id"], population=13000, postcodes="59000 59800")
        shown = call_action("organization_show", id=commune["id"])
        assert (str(shown["population"]), shown["postcodes"]) == ("13000", "59000 59800")
        assert shown["boundary"], "the boundary, on no form, is kept"
        _as(mel_staff, "organization_delete", id=commune["id"])
        assert model.Group.get(commune["id"]).state == "deleted"

    def test_an_organisation_admin_cannot_make_it_a_commune(self, mel_organization_factory):
        admin = factories.User()
        other = factories.Organization(users=[{"name": admin["name"], "capacity": "admin"}])
        with pytest.raises(tk.NotAuthorized):
            _as(admin, "organization_patch", id=other["id"], insee_code="59350")
        _as(admin, "organization_patch", id=other["id"], title="Partenaire")


def _input(body, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', body)
    assert match, f"no input {name}"
    return match.group(0)


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestForm:
    def test_the_admin_sees_the_reference_fields_read_only_and_saves_the_rest(self, app, commune_admin):
        commune = commune_admin["commune"]
        client = login(app, commune_admin)
        body = client.get(f"/organization/edit/{commune['name']}").body
        for name in ("title", "name", "insee_code", "siren", "population", "postcodes"):
            assert "readonly" in _input(body, name), name
        assert "readonly" not in _input(body, "website")
        form = {
            name: re.search(r'value="([^"]*)"', _input(body, name)).group(1)
            for name in ("title", "name", "insee_code", "siren", "population", "postcodes")
        }
        token = csrf_token(body)
        response = client.post(
            f"/organization/edit/{commune['name']}",
            data={**form, "description": "Par le formulaire", "_csrf_token": token, "save": ""},
        )
        assert response.status_code == 200
        shown = call_action("organization_show", id=commune["id"])
        assert shown["description"] == "Par le formulaire"
        assert shown["insee_code"] == commune["insee_code"] and shown["boundary"]

    def test_a_sysadmin_edits_them(self, app, commune_admin):
        sysadmin = factories.Sysadmin(password="correct-horse-battery")
        body = login(app, sysadmin).get(f"/organization/edit/{commune_admin['commune']['name']}").body
        assert "readonly" not in _input(body, "insee_code")
        assert "readonly" not in _input(body, "title")

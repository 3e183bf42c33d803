"""The commune organisations and their reference data."""

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests.helpers import call_action

from ckanext.mel import communes
from tests.helpers import call_as_sysadmin


def test_the_reference_file_has_the_95_communes_with_their_boundaries():
    reference = communes.reference_communes()
    assert len(reference) == 95
    assert len({c.insee_code for c in reference}) == 95
    lille = next(c for c in reference if c.insee_code == "59350")
    assert (lille.title, lille.siren, lille.name) == ("Lille", "215903501", "lille")
    assert json.loads(lille.boundary)["type"] in ("Polygon", "MultiPolygon")
    assert sum(communes.obligation_applies(c.population) for c in reference) == 52


@pytest.mark.parametrize(
    ("title", "slug"),
    [("Villeneuve-d'Ascq", "villeneuve-d-ascq"), ("Annœullin", "annoeullin"), ("Armentières", "armentieres")],
)
def test_slugs(title, slug):
    assert communes.slugify(title) == slug


@pytest.mark.usefixtures("clean_db")
class TestLoad:
    def _load(self, cli):
        result = cli.invoke(_mel_command(), ["communes", "load"])
        assert result.exit_code == 0, result.output
        return result.output

    def test_loading_twice_creates_once_and_keeps_what_staff_edited(self, cli):
        first = self._load(cli)
        assert first.splitlines()[-1] == "96 created, 0 updated, 0 unchanged" and "[96/96]" in first
        lille = call_action("organization_show", id="lille")
        assert (lille["insee_code"], lille["siren"], str(lille["population"])) == (
            "59350",
            "215903501",
            "238246",
        )
        assert json.loads(lille["boundary"])["type"] in ("Polygon", "MultiPolygon")
        assert call_action("organization_show", id="mel")["siren"] == "200093201"

        call_as_sysadmin(
            "organization_patch",
            id="lille",
            description="Ville de Lille",
            website="https://www.lille.fr",
            population=1,
        )
        second = self._load(cli)
        assert "0 created, 1 updated, 95 unchanged" in second
        lille = call_action("organization_show", id="lille")
        assert (lille["description"], lille["website"], str(lille["population"])) == (
            "Ville de Lille",
            "https://www.lille.fr",
            "238246",
        )
        assert model.Session.query(model.Group).filter_by(is_organization=True).count() == 96


def _mel_command():
    from ckanext.mel.cli import mel

    return mel


@pytest.mark.usefixtures("clean_db")
class TestSchema:
    def test_an_insee_code_is_five_characters(self, commune_factory):
        with pytest.raises(tk.ValidationError) as error:
            commune_factory(insee_code="5935")
        assert "insee_code" in error.value.error_dict

    def test_an_insee_code_is_unique(self, commune_factory):
        commune_factory(insee_code="59350")
        with pytest.raises(tk.ValidationError) as error:
            commune_factory(insee_code="59350")
        assert "already used" in str(error.value.error_dict["insee_code"])

    def test_a_siren_has_nine_digits(self, commune_factory):
        assert commune_factory(siren="215 903 501")["siren"] == "215903501"
        with pytest.raises(tk.ValidationError):
            commune_factory(siren="21590350")

    def test_a_boundary_must_be_geojson(self, commune_factory):
        with pytest.raises(tk.ValidationError):
            commune_factory(boundary="POLYGON((0 0, 1 0, 1 1, 0 0))")

    @pytest.mark.ckan_config("ckanext.mel.obligation_threshold", "10000")
    def test_the_obligation_threshold_is_configurable(self):
        assert communes.obligation_applies(9000) is False
        assert communes.obligation_applies(10001) is True


@pytest.mark.usefixtures("clean_db")
class TestOrganizationLookup:
    """communes.organization: the one lookup of an organisation by id or name on the write paths."""

    @staticmethod
    def queries(call):
        import sqlalchemy as sa

        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        engine = model.Session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            return call(), seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)

    def test_by_name_it_asks_the_database_once_then_finds_it_in_the_session(self, commune_factory):
        created = commune_factory(name="armentieres", insee_code="59017")
        model.Session.remove()
        found, first = self.queries(lambda: communes.organization("armentieres"))
        again, second = self.queries(lambda: communes.organization("armentieres"))
        by_id, third = self.queries(lambda: communes.organization(created["id"]))
        assert (found.id, len(first)) == (created["id"], 1)
        assert (again, by_id, second, third) == (found, found, [], [])

    def test_a_name_the_session_has_not_loaded_is_read_from_the_database(self, commune_factory):
        commune_factory(name="armentieres", insee_code="59017")
        lille = commune_factory(name="lille", insee_code="59350")
        model.Session.remove()
        assert communes.organization("armentieres").name == "armentieres"
        found, asked = self.queries(lambda: communes.organization("lille"))
        assert (found.id, len(asked)) == (lille["id"], 1)
        assert communes.organization("nowhere") is None

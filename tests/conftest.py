import factory
import pytest
from ckan.tests import factories
from pytest_factoryboy import register


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
    user = factories.User()
    mel_organization_factory(users=[{"name": user["name"], "capacity": "admin"}])
    return user

import pytest


@pytest.fixture(autouse=True)
def _stack(with_plugins):
    """Every test runs on the whole stack: the plugins listed in test.ini."""


@pytest.fixture
def clean_db(reset_db, migrate_db_for):
    """CKAN's clean_db, with the plugins' own tables migrated."""
    reset_db()
    migrate_db_for("activity")

"""The wheel an operator installs into an existing CKAN: built from this tree,
installed into a fresh venv beside CKAN (the version under test) and the three
extensions, then loaded the way the README's "Install into an existing CKAN"
says: the plugin from its entry point, its migrations, the communes.

Slow (a venv and a CKAN install, from pip's cache once `make test` has run):
deselect with -m "not slow" while working.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import ckan
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
PINS = ["ckanext-scheming==3.1.0", "ckanext-spatial==2.3.2", "ckanext-dcat==2.4.4"]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # An isolated build (pyproject's build requirements, from pip's cache or the registry):
    # CKAN 2.11 pins a packaging too old for the setuptools that reads the licence expression.
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", out, REPO)
    (path,) = out.glob("ckanext_mel-*.whl")
    return path


pytestmark = pytest.mark.slow


def test_the_wheel_carries_what_the_plugin_reads_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "ckanext/mel/config_declaration.yaml",
        "ckanext/mel/schemas/dataset.yaml",
        "ckanext/mel/schemas/organization.yaml",
        "ckanext/mel/templates/page.html",
        "ckanext/mel/assets/webassets.yml",
        "ckanext/mel/i18n/fr/LC_MESSAGES/ckanext-mel.mo",
        "ckanext/mel/data/mel-communes.csv",
        "ckanext/mel/data/licenses.json",
        "ckanext/mel/datamodels/models.yaml",
        "ckanext/mel/migration/mel/alembic.ini",
    ]
    assert [name for name in expected if name not in names] == []
    assert any(re.match(r"ckanext/mel/migration/mel/versions/.+\.py$", n) for n in names)
    assert any(re.match(r"ckanext/mel/datamodels/official/.+\.json$", n) for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: AGPL-3.0-or-later" in metadata
    assert any(n.endswith("licenses/LICENSE") for n in names)
    for requirement in ("ckanext-scheming", "ckanext-dcat", "ckanext-spatial", "frictionless", "pyshacl"):
        assert f"Requires-Dist: {requirement}" in metadata


def test_the_wheel_installs_beside_ckan_and_loads_with_its_migrations(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip = venv / "bin" / "pip"
    _run(pip, "install", "-q", "pip==26.3", "setuptools==80.10.2", "wheel==0.48.0")
    # The versions the suite passed with (what setup.sh installs), so that only the wheel's own
    # dependencies are tried here, not what the registry serves newer that day.
    constraints = REPO / "requirements" / f"constraints-{ckan.__version__.rsplit('.', 1)[0]}.txt"
    _run(pip, "install", "-q", "-c", constraints, f"ckan[requirements]=={ckan.__version__}", *PINS, wheel)

    # A scratch database of the test cluster, as an operator's own would be.
    database = os.environ.get("CKAN_SQLALCHEMY_URL", "postgresql://ckan:ckan@127.0.0.1:5439/ckan_test")
    name = database.rsplit("/", 1)[1] + "_package"
    # Afresh: one left by an earlier run would already hold the communes.
    admin = sa.create_engine(database.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for scratch in (name, f"{name}_datastore"):
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    admin.dispose()
    _run(REPO / "scripts" / "services.sh", "createdb", name)
    ini = tmp_path / "ckan.ini"
    ini.write_text(
        (REPO / "test.ini")
        .read_text()
        .replace("use = config:portal.ini", f"use = config:{REPO / 'portal.ini'}")
        .replace("%(here)s/.data/storage-test", str(tmp_path / "storage"))
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV")) and key != "CKAN_INI"
    }
    env.update(
        CKAN_SQLALCHEMY_URL=database.rsplit("/", 1)[0] + "/" + name,
        CKAN_SITE_ID="mel-package-test",
        PATH=f"{venv / 'bin'}:{os.environ['PATH']}",
    )
    ckan_cli = venv / "bin" / "ckan"
    # Run outside the repo so that nothing is imported from this tree.
    kwargs = {"env": env, "cwd": tmp_path}
    installed = "import ckanext.mel; assert 'site-packages' in ckanext.mel.__file__"
    _run(venv / "bin" / "python", "-c", installed, **kwargs)
    _run(ckan_cli, "-c", ini, "db", "upgrade", **kwargs)
    _run(ckan_cli, "-c", ini, "db", "upgrade", "-p", "mel", **kwargs)
    pending = _run(ckan_cli, "-c", ini, "db", "pending-migrations", **kwargs)
    assert "mel" not in pending.stdout
    loaded = _run(ckan_cli, "-c", ini, "mel", "communes", "load", **kwargs)
    assert "96 created" in loaded.stdout
    declared = _run(ckan_cli, "-c", ini, "config", "declaration", "mel", **kwargs)
    assert "ckanext.mel.quota.max" in declared.stdout

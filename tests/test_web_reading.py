"""What a visitor reads (issue #17, "Reading"): the dataset page names and draws its
area, shows only what is set; the search page has ckanext-spatial's map, facets for
commune, theme and data model, and the commune beside each title; the resource page
has French sizes and dates and labelled fields only; each data model has a page."""

import csv
import io
import json
import re

import pytest
from ckan.tests.helpers import call_action

from tests.helpers import call_as_sysadmin

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.71], [2.85, 50.67]]],
}


@pytest.fixture
def armentieres(commune_factory):
    commune = commune_factory(
        name="armentieres", title="Armentières", insee_code="59017", boundary=json.dumps(SQUARE)
    )
    call_action("mel_enrolment_create", organization=commune["id"])
    return commune


@pytest.fixture
def ecoles(armentieres, create_with_upload):
    dataset = call_as_sysadmin(
        "package_create",
        owner_org=armentieres["id"],
        name="ecoles",
        title="Écoles",
        notes="Les écoles de la commune.",
        data_model="mel-ecoles",
        private=False,
    )
    site_user = call_action("get_site_user", context={"ignore_auth": True})
    create_with_upload(
        b"a,b\n" + b"1,2\n" * 400, "ecoles.csv", package_id=dataset["id"], context={"user": site_user["name"]}
    )
    return call_action("package_show", id=dataset["id"])


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_dataset_page_names_and_draws_the_area_never_prints_it(app, ecoles):
    page = app.get(f"/dataset/{ecoles['name']}").body
    text = _text(page)
    assert "id.insee.fr" not in text
    assert '"coordinates"' not in text and "Polygon" not in text
    assert 'class="mel-coverage-map"' in page and 'data-module="dataset-map"' in page
    assert "Zone couverte : Armentières" in text
    # Nothing empty: no numbered single contact, no empty date rows.
    assert "Contact 1" not in text and "Lieu 1" not in text
    assert 'data-field="issued"' not in page


def test_search_page_has_the_map_the_facets_and_the_commune(app, ecoles):
    page = app.get("/dataset/").body
    assert 'data-module="spatial-query"' in page
    text = _text(page)
    for title in ("Communes", "Thèmes", "Modèles de données"):
        assert title in text
    assert "Éducation, culture et sport" in text  # the theme by its label, not its URI
    assert "Écoles (MEL)" in text  # the data model by its title
    assert re.search(r"Écoles\s*</a>\s*<span class=\"mel-commune-name\">Armentières</span>", page)
    # The facets filter.
    filtered = app.get("/dataset/", query_string={"vocab_mel_data_model": "mel-ecoles"}).body
    assert "1 jeu de données trouvé" in _text(filtered)
    none = app.get("/dataset/", query_string={"vocab_mel_data_model": "scdl-budget"}).body
    assert "Écoles" not in _text(none).split("Modèles de données")[0] or "Aucun jeu de données" in _text(none)


def test_search_by_map_area(app, ecoles):
    inside = app.get("/dataset/", query_string={"ext_bbox": "2.8,50.6,3.0,50.8"}).body
    outside = app.get("/dataset/", query_string={"ext_bbox": "5.0,45.0,5.5,45.5"}).body
    assert "/dataset/armentieres-ecoles" in inside
    assert "/dataset/armentieres-ecoles" not in outside


def test_resource_page_in_french_words(app, ecoles):
    resource = ecoles["resources"][0]
    page = app.get(f"/dataset/{ecoles['name']}/resource/{resource['id']}").body
    text = _text(page)
    assert re.search(r"\b\d{1,2} [a-zéû]+ 20\d\d\b", text)  # 1 décembre 2026
    assert not re.search(r"[a-zéû]+ \d{1,2}, 20\d\d", text)  # not "décembre 1, 2026"
    assert re.search(r"\d+(,\d)? Ko", text) and "kibi" not in text
    assert "Conforms to" not in text and "Has views" not in text and "Url type" not in text
    assert len(re.findall(r'<th scope="row">\s*Licence\s*</th>', page)) == 1  # once, and set
    assert 'href="/data-models/mel-ecoles"' in page


def test_a_data_model_has_a_readable_page_and_an_example(app):
    page = app.get("/data-models/mel-ecoles").body
    text = _text(page)
    assert "Modèle de données : Écoles (MEL)" in text
    assert "ECOLE_UAI" in text and "Code UAI" in text and "obligatoire" in text
    assert "unique sur chaque ligne" in text
    example = app.get("/data-models/mel-ecoles/example.csv")
    assert example.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(example.body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["COLL_INSEE", "COLL_NOM", "ECOLE_UAI"] and rows[1][:1] == ["59350"]
    assert app.get("/data-models/nothing", status=404)
    official = _text(app.get("/data-models/scdl-budget").body)
    assert "schema.data.gouv.fr" in official

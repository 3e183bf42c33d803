"""A commune agent in a real browser (headless Chromium): from "Ma commune",
publish a dataset through the harmonised form, upload a CSV file that does not
follow the data model, read the report, upload the fixed file, then reach the
quota; and, once the free period is over, read why nothing can be changed.

With MEL_GUIDE_SCREENSHOTS=1 these tests also take the pictures of the agents'
guide (docs/images/, see docs/guide-agent.md).
"""

import datetime

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.browser import accessibility_problems
from tests.helpers import PASSWORD, call_as_sysadmin

HEADER = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS\n"
VALID = HEADER + (
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16\n"
    "59017,Armentières,2024-02-01,2024-02-29,27,12,15\n"
    "59017,Armentières,2024-03-01,2024-03-31,30,16,14\n"
)
# As spreadsheets export it: a word where a number belongs, a date written the French way.
INVALID = HEADER + (
    "59017,Armentières,2024-01-01,2024-01-31,31,15,16\n"
    "59017,Armentières,2024-02-01,2024-02-29,vingt-sept,12,15\n"
    "59017,Armentières,01/03/2024,2024-03-31,30,16,14\n"
)


YESTERDAY = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
SIX_MONTHS_AGO = (datetime.date.today() - datetime.timedelta(days=183)).isoformat()


@pytest.fixture
def armentieres(commune_factory, request):
    """Armentières enrolled (from today, or with the dates given as the fixture's
    parameter), an agent (editor) and two public datasets already."""
    commune = commune_factory(
        name="armentieres",
        title="Armentières",
        insee_code="59017",
        population=24000,
        description="Ville de la Métropole Européenne de Lille.",
    )
    call_action("mel_enrolment_create", organization=commune["id"], **getattr(request, "param", {}))
    agent = factories.User(
        name="agent-armentieres", fullname="Camille Agent", password=PASSWORD, image_url=""
    )
    call_action("organization_member_create", id=commune["id"], username=agent["name"], role="editor")
    for title in ("Écoles", "Équipements publics"):
        call_as_sysadmin(
            "package_create",
            owner_org=commune["id"],
            name=f"armentieres-{len(title)}",
            title=title,
            notes="Publié par la commune.",
            private=False,
            resources=[{"url": "https://www.ville-armentieres.fr/donnees.csv", "format": "CSV"}],
        )
    commune["agent"] = agent
    return commune


def _csv(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _steps(browser):
    return [step.get_attribute("data-step") for step in browser.all("[data-step]")]


def _go_home(browser):
    browser.follow(browser.one("a.mel-my-commune-link"))
    assert browser.path == "/ma-commune"


def _fill_dataset_form(browser, title, public=True):
    browser.fill("#field-title", title)
    browser.fill("#field-notes", "Les naissances enregistrées à l'état civil, mois par mois.")
    browser.choose("#field-data_model", "mel-naissances")
    if public:
        browser.choose("#field-private", "False")


@pytest.mark.usefixtures("clean_db", "clean_index", "with_test_worker")
def test_an_agent_publishes_checks_fixes_and_reaches_the_quota(browser, armentieres, tmp_path):
    browser.login(armentieres["agent"])
    _go_home(browser)
    assert browser.html_lang() == "fr"
    counter = browser.one("#mel-quota-counter")
    assert (counter.get_attribute("data-public"), counter.get_attribute("data-minimum")) == (
        "2",
        "3",
    )
    assert "reach_target" in _steps(browser)
    assert accessibility_problems(browser) == []
    browser.guide_shot("01-ma-commune")

    # The harmonised form, with the data model picker.
    browser.follow(browser.one("#mel-add-dataset"))
    assert browser.path.startswith("/dataset/new")
    assert accessibility_problems(browser) == []
    _fill_dataset_form(browser, "Naissances 2024")
    browser.guide_shot("02-formulaire-modele", element="#dataset-edit")
    browser.submit(browser.button_of("#field-title"))
    assert browser.path == "/dataset/armentieres-naissances-2024/resource/new"

    # A file that does not follow the model.
    assert accessibility_problems(browser) == []
    browser.upload("#field-resource-upload", _csv(tmp_path, "naissances-2024.csv", INVALID))
    browser.guide_shot("03-depot-fichier", element="#resource-edit")
    browser.submit(browser.one("button[name=save][value=go-metadata]"))
    assert browser.path == "/dataset/armentieres-naissances-2024"
    browser.follow(browser.one(".resource-item a.heading"))
    report = browser.one("#validation-report")
    assert report.find_element("css selector", ".badge.bg-danger")
    errors = [row.text for row in report.find_elements("css selector", "tbody tr")]
    assert len(errors) == 2
    assert errors[0].startswith("3 NAISSANCES") and "vingt-sept" in errors[0]
    assert errors[1].startswith("4 PERIODE_DEBUT") and "01/03/2024" in errors[1]
    assert accessibility_problems(browser, within="#validation-report") == []
    browser.guide_shot("04-rapport-non-valide", element="#validation-report")

    # The home says what to fix, and links to the report.
    _go_home(browser)
    assert _steps(browser)[0] == "fix_file"
    assert browser.one("[data-check]").get_attribute("data-check") == "invalid"
    browser.follow(browser.one("[data-step=fix_file] a"))
    assert browser.path.endswith("#validation-report")

    # Fix the file and upload it again from the file's page.
    browser.follow(browser.one("a.btn[href*='/resource/'][href$='/edit']"))
    browser.upload("#field-resource-upload", _csv(tmp_path, "naissances-2024.csv", VALID))
    browser.submit(browser.button_of("#field-resource-upload"))
    report = browser.one("#validation-report")
    assert report.find_element("css selector", ".badge.bg-success")
    assert not report.find_elements("css selector", "tbody tr")
    browser.guide_shot("05-rapport-valide", element="#validation-report")

    # The dataset's quality score, on its page, once the job worker has scored it
    # (`ckan jobs worker default mel_quality` in scripts/run.sh).
    from ckan.lib import jobs

    from ckanext.mel import quality as mel_quality

    jobs.Worker([mel_quality.QUEUE]).work(burst=True)
    browser.visit("/dataset/armentieres-naissances-2024")
    quality = browser.one("#mel-quality")
    assert "/ 405" in quality.text
    assert accessibility_problems(browser, within="#mel-quality") == []
    browser.guide_shot("06-qualite", element="#mel-quality")

    # Target reached: the home no longer asks for more, and shows the check and the score.
    _go_home(browser)
    assert browser.one("#mel-quota-counter").get_attribute("data-public") == "3"
    assert "reach_target" not in _steps(browser) and "fix_file" not in _steps(browser)
    row = browser.one("tr[data-dataset='armentieres-naissances-2024']")
    assert row.find_element("css selector", "[data-check]").get_attribute("data-check") == "valid"
    score = call_action("mel_quality_show", id="armentieres-naissances-2024")["score"]
    assert row.find_element("css selector", "[data-score]").get_attribute("data-score") == str(score)
    browser.guide_shot("07-ma-commune-objectif", element="#mel-steps-title")

    # Two more datasets and the commune is at its maximum of five.
    for number in (1, 2):
        call_as_sysadmin(
            "package_create",
            owner_org=armentieres["id"],
            name=f"armentieres-extra-{number}",
            title=f"Jeu {number}",
            notes="Publié par la commune.",
            private=False,
        )
    _go_home(browser)
    assert "quota_full" in _steps(browser)
    assert not browser.all("#mel-add-dataset")
    assert "5" in browser.text("[data-step=quota_full]")

    # Before the form, not after it: a sixth dataset is refused, and the page says why.
    browser.visit(f"/dataset/new?group={armentieres['id']}")
    assert browser.one("#mel-refusal").get_attribute("data-reason") == "quota_full"
    assert not browser.all("#field-title")
    explanation = browser.text("[role=main]")
    assert "Armentières" in explanation and "5" in explanation
    assert call_action("mel_quota_show", organization=armentieres["id"])["count"] == 5


@pytest.mark.usefixtures("clean_db", "clean_index")
@pytest.mark.parametrize(
    "armentieres", [{"start_date": SIX_MONTHS_AGO, "end_date": YESTERDAY}], indirect=True
)
def test_after_the_free_period_the_agent_reads_why_nothing_can_change(browser, armentieres):
    browser.login(armentieres["agent"])
    _go_home(browser)
    assert browser.one("#mel-enrolment-status").get_attribute("data-status") == "expired"
    assert _steps(browser) == ["read_only"]
    explanation = browser.text("[data-step=read_only]")
    assert datetime.date.fromisoformat(YESTERDAY).strftime("%d/%m/%Y") in explanation
    assert "opendata@lillemetropole.fr" in explanation
    assert not browser.all("#mel-add-dataset")
    assert len(browser.all("tr[data-dataset]")) == 2  # the datasets stay listed, and public
    assert accessibility_problems(browser) == []
    browser.guide_shot("08-fin-de-periode")

    # On a dataset's page too: the explanation instead of the edit button.
    browser.follow(browser.one("tr[data-dataset] th a"))
    assert browser.one(".mel-read-only").is_displayed()
    assert not browser.all(".content_action a[href*='/dataset/edit/']")


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_home_in_english_and_back(browser, armentieres):
    browser.login(armentieres["agent"])
    browser.visit("/en/ma-commune")
    assert browser.html_lang() == "en"
    assert "2 datasets published — target: 3, maximum: 5" in browser.text("#mel-quota-counter")
    browser.visit("/ma-commune")
    assert browser.html_lang() == "fr"

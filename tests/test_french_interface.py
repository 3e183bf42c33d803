"""No English in the French interface (issue #17): the pages an agent, a visitor and
MEL staff meet, walked with the test client, searched for English words and phrases
from the list below, CKAN's own strings included where its French catalogue lacks
them (the plugin's catalogue overrides them: CKAN merges it after its own)."""

import json
import re

import pytest
from ckan.tests import factories
from ckan.tests.helpers import call_action

from tests.helpers import PASSWORD, call_as_sysadmin, login

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")

# English as it appears on CKAN's pages when untranslated, and the misspellings of
# CKAN's French catalogue. Whole words, case-sensitive.
ENGLISH = (
    "Profile settings",
    "Follow",
    "Unfollow",
    "Followers",
    "Licenses",
    "License",
    "Member",
    "Members",
    "Username or Email",
    "You can use",
    "Markdown formatting",
    "Dataset description:",
    "Show more",
    "Show less",
    "Conforms to",
    "Has views",
    "Url type",
    "Unauthorized",
    "Forbidden",
    "Not found",
    "Add Dataset",
    "Edit",
    "Delete",
    "Activity Stream",
    "Organizations",
    "Groups",
    "Download",
    "Created",
    "Last Updated",
    "Skip to main content",
    "Powered by",
    "Log in",
    "Log out",
    "Register",
    "Dashboard",
    "News feed",
    "Cancel",
    "Submit",
    "Update",
    "Explore",
    "Preview",
    "More information",
    "Additional Info",
    "Field",
    "Value",
    "State",
    "Search Datasets",
    "Go",
    "Save",
    "Next",
    "Previous",
    "Upload",
    "Link",
    "Remove",
    "Clear",
    "Apply",
    "Filter by location",
    "Draw an extent",
    "Manage",
    "Datasets",
    "Resources",
    "Data and Resources",
    "Dataset extent",
    "Editer",
    "Etes-vous",
    "1 places",
)
PATTERN = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])")


def _visible(html: str) -> str:
    """The text a person meets: the page's text and the labels of its controls."""
    html = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", html, flags=re.S | re.I)
    attributes = re.findall(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"', html)
    buttons = re.findall(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"', html)
    # Proper names stay as they are: the ODbL's title, and English in the language switcher.
    html = html.replace("Open Data Commons Open Database License", " ")
    html = re.sub(r"<option[^>]*>\s*English\s*</option>", " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", " ".join([text, *attributes, *buttons]))


def _english(client, path):
    response = client.get(path)
    assert response.status_code in (200, 403), (path, response.status_code)
    text = _visible(response.body)
    return sorted(
        {
            f"{path}: {m.group(1)} ({text[max(0, m.start() - 40) : m.end() + 20]})"
            for m in PATTERN.finditer(text)
        }
    )


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.71], [2.85, 50.67]]],
}


def test_the_agents_visitors_and_staff_pages_have_no_english(
    app, commune_factory, mel_staff, create_with_upload
):
    commune = commune_factory(name="lille", title="Lille", insee_code="59350", boundary=json.dumps(SQUARE))
    call_action("mel_enrolment_create", organization=commune["id"])
    agent = factories.User(password=PASSWORD, image_url="")
    call_action("organization_member_create", id=commune["id"], username=agent["name"], role="editor")
    dataset = call_as_sysadmin(
        "package_create",
        owner_org=commune["id"],
        name="ecoles",
        title="Écoles",
        notes="Les écoles.",
        data_model="mel-ecoles",
        private=False,
    )
    site_user = call_action("get_site_user", context={"ignore_auth": True})
    resource = create_with_upload(
        b"a,b\n1,2\n", "ecoles.csv", package_id=dataset["id"], context={"user": site_user["name"]}
    )
    name = dataset["name"]
    visitor_paths = [
        "/",
        "/about",
        "/dataset/",
        f"/dataset/{name}",
        f"/dataset/{name}/resource/{resource['id']}",
        "/communes",
        "/organization/lille",
        "/organization/about/lille",
        "/moissonnage",
        "/moissonnage/lille",
        "/data-models/mel-ecoles",
        "/user/login",
    ]
    agent_paths = [
        "/ma-commune",
        "/dataset/new",
        f"/dataset/edit/{name}",
        f"/dataset/{name}/resource/new",
        f"/dataset/{name}",
        f"/user/{agent['name']}",
        f"/user/edit/{agent['name']}",
        f"/dataset/delete/{name}",
    ]
    staff_paths = ["/ckan-admin/communes", "/ckan-admin/communes/lille"]
    found = []
    for path in visitor_paths:
        found += _english(app, path)
    client = login(app, agent)
    for path in agent_paths:
        found += _english(client, path)
    client = login(app, mel_staff)
    for path in staff_paths:
        found += _english(client, path)
    assert found == [], "\n".join(found)


def test_the_plugin_catalogue_overrides_cores_french(app):
    """CKAN's own French for "Edit resource" is "Editer la ressource": ours wins."""
    import ckan.plugins.toolkit as tk
    from ckan.lib.i18n import set_lang  # noqa: F401  (the request's language is the site's)

    with app.flask_app.test_request_context("/"):
        app.flask_app.preprocess_request()
        assert tk._("Edit resource") == "Modifier la ressource"
        assert tk._("Are you sure you want to perform this action?").startswith("Êtes-vous sûr")

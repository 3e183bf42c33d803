"""Helpers the tests import (fixtures stay in conftest.py, which pytest loads itself
and no test imports)."""

import re

# The password of the users that tests log in with a browser session.
PASSWORD = "correct-horse-battery"

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_token(page_body: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(page_body)
    assert found, "no CSRF token in the page"
    return found.group(1)


def api_token(user_name: str) -> str:
    from ckan.tests.helpers import call_action

    return call_action(
        "api_token_create", context={"user": user_name, "ignore_auth": True}, user=user_name, name="tests"
    )["token"]


def auth_header(user: dict) -> dict[str, str]:
    """The headers of an API call as the user (a fresh API token)."""
    return {"Authorization": api_token(user["name"])}


def call_as_sysadmin(action: str, **data_dict):
    """call_action as the site user: actions that write activities need a real user."""
    from ckan.tests.helpers import call_action

    site_user = call_action("get_site_user", context={"ignore_auth": True})
    return call_action(action, context={"user": site_user["name"]}, **data_dict)


def login(app, user, password=PASSWORD):
    """A test client with a browser session (cookies) of a factory-made user."""
    client = app.test_client(use_cookies=True)
    token = csrf_token(client.get("/user/login").body)
    response = client.post(
        "/user/login", data={"login": user["name"], "password": password, "_csrf_token": token}
    )
    assert response.status_code == 200 and "/user/_logout" in response.body, "login failed"
    return client

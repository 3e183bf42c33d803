"""CSRF for browser sessions, whatever reached a view before.

CKAN 2.12 exempts a view from CSRF checks when a request signed with an API
token reaches it (ckan_before_request → `csrf.exempt(view)`), and that
exemption is the process's, not the request's: after one API call to a form's
view, every browser session could post to it without a token. CKAN 2.11 kept
the exemption per request (CSRFProtectPerRequest). This check puts that back:
a request of a browser session (not signed with an API token) to a view that
no blueprint-wide exemption covers (the API's) has its token checked again.
"""

from __future__ import annotations

import ckan.plugins.toolkit as tk
from flask import request

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def protect_browser_sessions() -> None:
    if request.method not in UNSAFE_METHODS or tk.g.get("login_via_auth_header"):
        return
    from ckan.config.middleware.flask_app import csrf

    if request.blueprint in getattr(csrf, "_exempt_blueprints", set()):
        return
    csrf.protect()

"""The DCAT feeds: a catalogue per commune, next to ckanext-dcat's portal-wide one.

`/organization/<name>/catalog.<format>` is the portal's catalogue restricted to one
organisation (a commune, or the MEL), with hydra paging links that stay on that
URL, so that each commune can be harvested under its own name on data.gouv.fr.
The feeds themselves are ckanext-dcat's `dcat_catalog_show`; the chained actions
in logic/action.py keep drafts and deleted datasets out of every page.
"""

from __future__ import annotations

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint, Response

from ckanext.dcat.exceptions import RDFProfileException
from ckanext.dcat.utils import CONTENT_TYPES
from ckanext.mel import communes

feeds = Blueprint("mel_feeds", __name__)


@feeds.route("/organization/<id>/catalog.<_format>")
def organization_catalog(id: str, _format: str) -> Response:
    if _format not in CONTENT_TYPES:
        tk.abort(404)
    organization = model.Group.get(id) or communes.commune_for_insee(id)
    if organization is None or not organization.is_organization or organization.state != "active":
        tk.abort(404, tk._("Organization not found"))
    args = tk.request.args
    data_dict = {
        "page": args.get("page"),
        "modified_since": args.get("modified_since"),
        "q": args.get("q"),
        "fq": f'+organization:"{organization.name}" {args.get("fq") or ""}'.strip(),
        "format": _format,
        "profiles": args["profiles"].split(",") if args.get("profiles") else None,
    }
    try:
        output = tk.get_action("dcat_catalog_show")({}, data_dict)
    except (tk.ValidationError, RDFProfileException) as error:
        return tk.abort(409, str(error))
    return Response(output, content_type=CONTENT_TYPES[_format])

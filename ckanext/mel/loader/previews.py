"""The resource views of a loaded table: the core table view, and a map of its rows."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

TABLE_VIEW = "datatables_view"
MAP_VIEW = "mel_map"
# Stored once per resource in the site's language (French): view titles are data, not interface.
TITLES = {TABLE_VIEW: "Tableau", MAP_VIEW: "Carte"}


def _context() -> dict[str, Any]:
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"ignore_auth": True, "user": site_user["name"]}


def _views(resource_id: str) -> list[dict[str, Any]]:
    return tk.get_action("resource_view_list")(_context(), {"id": resource_id})


def ensure(resource_id: str, with_map: bool) -> None:
    """A table view for every loaded resource, a map view for those with coordinates."""
    present = {view["view_type"] for view in _views(resource_id)}
    wanted = [TABLE_VIEW] + ([MAP_VIEW] if with_map else [])
    for view_type in wanted:
        if view_type not in present:
            tk.get_action("resource_view_create")(
                _context(),
                {"resource_id": resource_id, "view_type": view_type, "title": TITLES[view_type]},
            )
    if not with_map and MAP_VIEW in present:
        remove(resource_id, only=(MAP_VIEW,))


def remove(resource_id: str, only: tuple[str, ...] = (TABLE_VIEW, MAP_VIEW)) -> None:
    """The views that show the table, once it is gone."""
    for view in _views(resource_id):
        if view["view_type"] in only:
            tk.get_action("resource_view_delete")(_context(), {"id": view["id"]})


def find(resource_id: str, view_type: str) -> dict[str, Any] | None:
    return next((v for v in _views(resource_id) if v["view_type"] == view_type), None)

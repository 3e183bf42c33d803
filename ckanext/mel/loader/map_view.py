"""The map view: a loaded table's rows as points, on a French public tile server.

It reads the table's GeoJSON export (exports.py), so the map and the download
show the same points. MelPlugin takes this class as a mixin for IResourceView.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.mel import datamodels
from ckanext.mel.loader import exports, previews


def coordinates_for(package: dict[str, Any]) -> tuple[str, str] | None:
    data_model = datamodels.get(package.get("data_model"))
    return exports.coordinates_of(data_model) if data_model is not None else None


class MapView:
    """IResourceView for the `mel_map` view type."""

    def info(self) -> dict[str, Any]:
        return {
            "name": previews.MAP_VIEW,
            "title": tk._("Map"),
            "icon": "map-marker",
            "requires_datastore": True,
            "default_title": tk._("Map"),
            "preview_enabled": False,
            "iframed": True,
        }

    def can_view(self, data_dict: dict[str, Any]) -> bool:
        resource, package = data_dict["resource"], data_dict.get("package") or {}
        return bool(resource.get("datastore_active")) and coordinates_for(package) is not None

    def setup_template_variables(self, context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
        resource, package = data_dict["resource"], data_dict["package"]
        latitude, longitude = coordinates_for(package) or ("", "")
        return {
            "geojson_url": tk.h.url_for(
                "mel_exports.export", id=package["name"], resource_id=resource["id"], fmt="geojson"
            ),
            "tiles_url": tk.config.get("ckanext.mel.map.tiles_url"),
            "tiles_attribution": tk.config.get("ckanext.mel.map.tiles_attribution"),
            "latitude": latitude,
            "longitude": longitude,
        }

    def view_template(self, context: Context, data_dict: dict[str, Any]) -> str:
        return "mel/map_view.html"

    def form_template(self, context: Context, data_dict: dict[str, Any]) -> str | None:
        return None

"""A dataset's spatial extent, from its data or its commune.

The extent is the first `spatial_coverage` geometry, which ckanext-dcat copies
into the `spatial` field that ckanext-spatial indexes. When valid files of the
dataset place their rows (latitude and longitude), it is the box around those
points; otherwise the commune's boundary. It is stored on the commune's place
(the coverage item with the commune's INSEE URI); a coverage the agent replaced
by places of their own is left alone.

Refreshing a dataset after a check is a system update: it runs as the site user,
so that neither the enrolment rule nor the quota refuses it, and it changes no
resource, so that it starts no new check.
"""

from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model

from ckanext.mel import communes, datasets

# Points closer than this (in degrees, about 50 m) still make a box with an area.
MIN_SIZE = 0.0005


def bbox_polygon(bbox: list[float]) -> dict[str, Any]:
    """A GeoJSON polygon for [west, south, east, north], never flat."""
    west, south, east, north = bbox
    if east - west < MIN_SIZE:
        west, east = west - MIN_SIZE / 2, east + MIN_SIZE / 2
    if north - south < MIN_SIZE:
        south, north = south - MIN_SIZE / 2, north + MIN_SIZE / 2
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def union(boxes: list[list[float]]) -> list[float] | None:
    if not boxes:
        return None
    return [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]


def data_bbox(package: model.Package) -> list[float] | None:
    """The box around the points of the dataset's valid files."""
    from ckanext.mel.validation import VALID, ValidationReport

    active = {r.id for r in package.resources}
    boxes = [
        report.report["bbox"]
        for report in ValidationReport.for_package(package.id)
        if report.resource_id in active and report.status == VALID and report.report.get("bbox")
    ]
    return union(boxes)


def commune_place(organization: model.Group, package: model.Package | None) -> dict[str, str]:
    """The commune as a place: its boundary, or the box of the dataset's points if there are any."""
    place = datasets.commune_coverage(organization)
    bbox = data_bbox(package) if package is not None else None
    if bbox is not None:
        place["geom"] = json.dumps(bbox_polygon(bbox), separators=(",", ":"))
    return place


def coverage_for(package: model.Package, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dataset's spatial coverage once its extent is refreshed."""
    organization = package.owner_org and model.Group.get(package.owner_org)
    if not communes.is_commune(organization):
        return current
    place = commune_place(organization, package)
    others = [item for item in current if item.get("uri") != place["uri"]]
    if len(others) == len(current) and any(item.get("geom") for item in current):
        return current  # the agent's own places
    return [place, *others]


def apply_reports(package_id: str) -> None:
    """Refresh the dataset after a check: its extent and, if invalid data blocks, its visibility."""
    from ckanext.mel.validation import INVALID, ValidationReport

    package = model.Package.get(package_id)
    if package is None or package.state == "deleted":
        return
    context = system_context()
    dataset = tk.get_action("package_show")(dict(context), {"id": package_id})
    changes: dict[str, Any] = {}

    current = dataset.get("spatial_coverage") or []
    coverage = coverage_for(package, current)
    if coverage != current:
        changes["spatial_coverage"] = coverage

    if tk.config.get("ckanext.mel.validation.block_invalid"):
        active = {r.id for r in package.resources}
        reports = [r for r in ValidationReport.for_package(package_id) if r.resource_id in active]
        invalid = [r for r in reports if r.status == INVALID]
        if invalid and not package.private:
            changes["private"] = True
            for report in invalid:
                report.blocked = True
        elif not invalid and package.private and any(r.blocked for r in reports):
            changes["private"] = False
            for report in reports:
                report.blocked = False

    if changes:
        tk.get_action("package_patch")(dict(context), {"id": package_id, **changes})
    else:
        model.repo.commit()


def system_context() -> dict[str, Any]:
    """The portal acting on its own: the site user, past the enrolment rule and the quota."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site_user["name"], "ignore_auth": True, "mel_system_update": True}

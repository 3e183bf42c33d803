"""A dataset's spatial extent, from its data or its commune.

The extent is the first `spatial_coverage` geometry, which ckanext-dcat copies
into the `spatial` field that ckanext-spatial indexes. When valid files of the
dataset place their rows (latitude and longitude), it is the box around those
points; otherwise the commune's boundary. It is stored on the commune's place
(the coverage item with the commune's INSEE URI); a coverage the agent replaced
by places of their own is left alone.

Points outside the commune (its boundary's box, widened by MARGIN) are left
out of the box and counted in the check's report: latitude and longitude
swapped, or a place of another town, would otherwise stretch the extent across
the country.

After a check, validation.py asks for the refreshed coverage and writes it
(write_coverage) straight into the dataset's extra, commits it with the check's
report and reindexes the dataset once, without a second full package update
(validation, activity, hooks) on the upload path. It never changes a resource,
so it never starts a new check.
"""

from __future__ import annotations

import datetime
import functools
import json
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model

from ckanext.mel import communes
from ckanext.mel.model import VALID, ValidationReport

# Points closer than this (in degrees, about 50 m) still make a box with an area.
MIN_SIZE = 0.0005
# How far outside its commune's boundary box a point still counts (degrees: about 2 km).
MARGIN = 0.02


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
    active = {r.id for r in package.resources}
    boxes = [
        report.report["bbox"]
        for report in ValidationReport.for_package(package.id)
        if report.resource_id in active and report.status == VALID and report.report.get("bbox")
    ]
    return union(boxes)


def commune_place(organization: model.Group, package: model.Package | None) -> dict[str, str]:
    """The commune as a place: its boundary, or the box of the dataset's points if there are any."""
    place = communes.commune_coverage(organization)
    bbox = data_bbox(package) if package is not None else None
    if bbox is not None:
        place["geom"] = json.dumps(bbox_polygon(bbox), separators=(",", ":"))
    return place


def coverage_for(package: model.Package, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dataset's spatial coverage once its extent is refreshed."""
    organization = communes.organization(package.owner_org)
    if not communes.is_commune(organization):
        return current
    place = commune_place(organization, package)
    others = [item for item in current if item.get("uri") != place["uri"]]
    if len(others) == len(current) and any(item.get("geom") for item in current):
        return current  # the agent's own places
    return [place, *others]


def stored_coverage(package: model.Package) -> list[dict[str, Any]]:
    """The dataset's spatial coverage as package_show gives it: scheming keeps a repeating
    field as the JSON of its list in an extra (write_coverage writes it so too)."""
    value = package.extras.get("spatial_coverage") or "[]"
    try:
        value = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def refreshed_coverage(package: model.Package) -> list[dict[str, Any]] | None:
    """The dataset's coverage after a check, or None when its extent stays as it is. Read
    from the extra, not package_show: on the upload path a whole package_show is 10 ms."""
    current = stored_coverage(package)
    coverage = coverage_for(package, current)
    return coverage if coverage != current else None


def write_coverage(package: model.Package, coverage: list[dict[str, Any]]) -> None:
    """The coverage stored as scheming stores it (JSON in the extra), for the caller to commit
    and then reindex the dataset (reindex)."""
    package.extras["spatial_coverage"] = json.dumps(coverage)
    package.metadata_modified = datetime.datetime.utcnow()
    # CKAN 2.11 reindexes a changed package when the session commits: its synchronous search
    # plugin sees what was flushed.
    model.Session.flush()


def reindex(package_id: str) -> None:
    """The dataset reindexed after write_coverage was committed: CKAN 2.12 indexes in its
    actions only (2.11 did it at the commit)."""
    if tk.check_ckan_version("2.12"):
        from ckan.lib import search

        search.rebuild(package_id)


def geometry_box(geometry: dict[str, Any]) -> list[float] | None:
    """[west, south, east, north] of a GeoJSON geometry's coordinates."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(node: Any) -> None:
        if (
            isinstance(node, (list, tuple))
            and len(node) >= 2
            and all(isinstance(v, (int, float)) for v in node[:2])
        ):
            xs.append(float(node[0]))
            ys.append(float(node[1]))
        elif isinstance(node, (list, tuple)):
            for child in node:
                walk(child)

    walk(geometry.get("coordinates"))
    for part in geometry.get("geometries") or []:
        box = geometry_box(part)
        if box:
            xs.extend([box[0], box[2]])
            ys.extend([box[1], box[3]])
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


def _widened(box: list[float] | None) -> list[float] | None:
    if box is None:
        return None
    return [box[0] - MARGIN, box[1] - MARGIN, box[2] + MARGIN, box[3] + MARGIN]


@functools.cache
def _territory_box() -> list[float] | None:
    """The box of the 95 communes together: where the MEL's own datasets' points are."""
    boxes = [geometry_box(json.loads(c.boundary)) for c in communes.reference_communes() if c.boundary]
    return union([b for b in boxes if b])


def area_for(package: model.Package | None) -> list[float] | None:
    """Where the dataset's points may be: its commune's box, or the MEL's, widened by MARGIN."""
    organization = communes.organization(package.owner_org) if package is not None else None
    if organization and communes.is_commune(organization):
        try:
            box = geometry_box(json.loads(organization.extras.get("boundary") or "null") or {})
        except (TypeError, ValueError):
            box = None
        return _widened(box)
    return _widened(_territory_box())


def system_context() -> dict[str, Any]:
    """The portal acting on its own: the site user, past the enrolment rule and the quota."""
    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    return {"user": site_user["name"], "ignore_auth": True, "mel_system_update": True}

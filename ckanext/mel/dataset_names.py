"""Dataset URL names carry their commune: Lille's "Écoles" is `lille-ecoles`.

With 95 communes publishing the same data models, portal-wide names would
collide all the time ("Cette URL est déjà utilisée" for the second commune's
"Écoles"). On creation, a commune's dataset whose name does not start with the
commune's name gets it as a prefix; a name the portal made this way that is
already taken gets a number (`lille-ecoles-2`). A name that already carries the
prefix is the caller's choice and is kept as given: a duplicate is then
refused by CKAN's own validator, as the API's users expect.
"""

from __future__ import annotations

from typing import Any

from ckan import model
from ckan.lib.navl.dictization_functions import missing
from ckan.types import Context, FlattenDataDict

from ckanext.mel import communes

# CKAN's limit on a package name (ckan.model.PACKAGE_NAME_MAX_LENGTH).
MAX_LENGTH = 100


def prefix(organization: model.Group) -> str:
    return organization.name + "-"


def set_commune_name(data: FlattenDataDict, context: Context, organization: model.Group) -> None:
    """On creation, the commune's prefix on the dataset's name (before the name's validators)."""
    if context.get("package") is not None or _text(data.get(("id",))):
        return  # an update: URLs never change under their readers
    if not communes.is_commune(organization):
        return
    given = _text(data.get(("name",))).strip()
    start = prefix(organization)
    if given.startswith(start) and given != start:
        return
    base = communes.slugify(given or _text(data.get(("title",))))
    if not base:
        return  # nothing to name it from: CKAN's "Missing value" follows
    data[("name",)] = unique_name(start + base[: MAX_LENGTH - len(start)])


def unique_name(name: str) -> str:
    """`name`, or `name-2`, `name-3`… the first no dataset (deleted ones included) has."""
    # The name alone first: an index lookup. The LIKE below reads the whole table (no index
    # serves a prefix under the database's collation), so only for a name already taken.
    if not model.Session.query(model.Package.id).filter(model.Package.name == name).first():
        return name
    taken = {
        row[0]
        for row in model.Session.query(model.Package.name).filter(
            model.Package.name.like(name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        )
    }
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = name[: MAX_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value is not missing else ""

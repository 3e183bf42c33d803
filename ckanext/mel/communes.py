"""The MEL's member communes: reference data, and what the portal derives from it.

A commune is an organisation with an INSEE code; the MEL's own organisation
(`ckanext.mel.organization`) has none. Keeping communes on CKAN's default
organisation type means dataset ownership, membership, organisation pages and
the DCAT publisher all work unchanged.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import ckan.plugins.toolkit as tk
import sqlalchemy as sa
from ckan import authz, model
from sqlalchemy import or_
from sqlalchemy.orm.util import identity_key

DATA = Path(__file__).parent / "data"

MEL_TITLE = "Métropole Européenne de Lille"
MEL_SIREN = "200093201"

# Fields the reference file owns: refreshed on every load. Everything else
# (description, logo, website, contact) belongs to MEL staff and the commune.
REFERENCE_FIELDS = ("title", "insee_code", "siren", "population", "postcodes", "boundary")
# What only MEL staff may change on a commune: the reference fields and its URL name.
# A commune's admins edit its presentation (description, logo, website, contact).
STAFF_ONLY_FIELDS = ("name", *REFERENCE_FIELDS)


@dataclass(frozen=True)
class ReferenceCommune:
    insee_code: str
    siren: str
    title: str
    population: int
    postcodes: str
    boundary: str  # GeoJSON geometry, as text

    @property
    def name(self) -> str:
        return slugify(self.title)

    def fields(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in REFERENCE_FIELDS}


def slugify(title: str) -> str:
    """A URL name from a commune's name: "Villeneuve-d'Ascq" -> "villeneuve-d-ascq"."""
    text = title.lower().replace("œ", "oe").replace("æ", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def reference_communes() -> list[ReferenceCommune]:
    """The 95 communes of the shipped reference file, with their boundaries."""
    with open(DATA / "mel-communes.geojson", encoding="utf-8") as f:
        boundaries = {
            feature["properties"]["insee"]: json.dumps(feature["geometry"], separators=(",", ":"))
            for feature in json.load(f)["features"]
        }
    with open(DATA / "mel-communes.csv", encoding="utf-8", newline="") as f:
        return [
            ReferenceCommune(
                insee_code=row["insee"],
                siren=row["siren"],
                title=row["name"],
                population=int(row["population"]),
                postcodes=row["postcodes"],
                boundary=boundaries[row["insee"]],
            )
            for row in csv.DictReader(f)
        ]


def mel_organization_name() -> str:
    return tk.config.get("ckanext.mel.organization")


def is_commune(organization: model.Group | dict[str, Any] | None) -> bool:
    if organization is None:
        return False
    if isinstance(organization, dict):
        return bool(organization.get("insee_code"))
    return bool(organization.extras.get("insee_code"))


INSEE_COMMUNE_URI = "http://id.insee.fr/geo/commune/{code}"


def commune_uri(insee_code: str) -> str:
    """The commune's identifier as a place (INSEE's URI), the datasets' spatial coverage."""
    return INSEE_COMMUNE_URI.format(code=insee_code)


def commune_coverage(organization: model.Group) -> dict[str, str]:
    """The commune as a place: its INSEE URI, its name and its boundary."""
    coverage = {"uri": commune_uri(organization.extras["insee_code"]), "text": organization.title}
    if organization.extras.get("boundary"):
        coverage["geom"] = organization.extras["boundary"]
    return coverage


def obligation_applies(population: int | str | None) -> bool:
    """The 2016 Digital Republic Act obliges communes above the threshold to open their data."""
    try:
        return int(population or 0) > tk.config.get("ckanext.mel.obligation_threshold")
    except (TypeError, ValueError):
        return False


def is_mel_staff(user_name: str | None) -> bool:
    """Sysadmins and the admins of the MEL's organisation."""
    if not user_name:
        return False
    if authz.is_sysadmin(user_name):
        return True
    return authz.users_role_for_group_or_org(mel_organization_name(), user_name) == "admin"


def with_extra(query: Any, key: str, value: str) -> Any:
    """`query` (on model.Group) narrowed to organisations whose extra `key` is `value`.

    CKAN 2.12 keeps extras in a JSONB column of the group table, 2.11 in a table of their own.
    """
    if hasattr(model, "GroupExtra"):
        return query.join(model.GroupExtra, model.GroupExtra.group_id == model.Group.id).filter(
            model.GroupExtra.key == key, model.GroupExtra.value == value, model.GroupExtra.state == "active"
        )
    return query.filter(model.Group.extras[key].astext == value)


def _same(field: str, given: Any, stored: Any) -> bool:
    """Whether a submitted value says what the stored one says (forms send text)."""
    given = "" if given is None else given
    stored = "" if stored is None else stored
    if field == "boundary" and given and stored:
        try:
            given = json.loads(given) if isinstance(given, str) else given
            return given == json.loads(stored)
        except (TypeError, ValueError):
            return False
    if field == "insee_code":
        return str(given).strip().upper() == str(stored).strip().upper()
    return str(given).strip() == str(stored).strip()


def stored_value(organization: model.Group, field: str) -> Any:
    if field in ("name", "title"):
        return getattr(organization, field)
    return organization.extras.get(field)


def staff_only_changes(organization: model.Group | None, data_dict: dict[str, Any]) -> list[str]:
    """The MEL-only fields that `data_dict` would change on this organisation.

    On a commune, its reference fields and its name; on any other organisation,
    its INSEE code (becoming a commune is the MEL's decision too).
    """
    if organization is None:
        return []
    fields = STAFF_ONLY_FIELDS if is_commune(organization) else ("insee_code",)
    return [
        field
        for field in fields
        if field in data_dict and not _same(field, data_dict[field], stored_value(organization, field))
    ]


def commune_for_insee(insee_code: str) -> model.Group | None:
    query = model.Session.query(model.Group).filter(
        model.Group.state == "active", model.Group.is_organization.is_(True)
    )
    return with_extra(query, "insee_code", insee_code).first()


def organization(id_or_name: str | None) -> model.Group | None:
    """model.Group.get in one query at most: it asks by id, then by name (two queries for a name,
    which is what the API's callers give), on every dataset creation more than once. One the
    session has loaded already, by id or by name, costs none."""
    if not id_or_name or not isinstance(id_or_name, str):
        return None
    Group = model.Group
    loaded = model.Session.identity_map.get(identity_key(Group, id_or_name))
    if loaded is not None:
        return cast(model.Group, loaded)
    for each in model.Session.identity_map.values():
        # Its loaded name only: reading an expired attribute would be a query.
        if isinstance(each, Group) and sa.inspect(each).dict.get("name") == id_or_name:
            return each
    query = model.Session.query(Group).filter(or_(Group.id == id_or_name, Group.name == id_or_name))
    found = query.limit(2).all()
    return next((group for group in found if group.id == id_or_name), found[0] if found else None)


def get_commune(id_or_name: str) -> model.Group | None:
    """A commune by id, name or INSEE code; None for anything that is not a commune."""
    org = model.Group.get(id_or_name)
    if org is None or not org.is_organization or org.state != "active":
        org = commune_for_insee(id_or_name)
    return org if is_commune(org) else None


def load_communes(
    context: dict[str, Any], progress: Callable[[str], None] = lambda line: None
) -> dict[str, int]:
    """Create or refresh the MEL and its communes; idempotent, never deletes.

    Returns how many organisations were created, updated and left unchanged.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    targets = [_mel_target(), *_commune_targets()]
    for position, (name, fields, find) in enumerate(targets, 1):
        existing = find()
        if existing is None:
            tk.get_action("organization_create")(dict(context), {"name": name, **fields})
            outcome = "created"
        else:
            current = tk.get_action("organization_show")(
                dict(context), {"id": existing.id, "include_users": False, "include_datasets": False}
            )
            changed = {k: v for k, v in fields.items() if str(current.get(k, "")) != str(v)}
            if changed:
                tk.get_action("organization_patch")(dict(context), {"id": existing.id, **changed})
                outcome = "updated"
            else:
                outcome = "unchanged"
        counts[outcome] += 1
        progress(f"[{position}/{len(targets)}] {fields['title']}: {outcome}")
    return counts


def _mel_target() -> tuple[str, dict[str, Any], Callable[[], model.Group | None]]:
    name = mel_organization_name()
    return name, {"title": MEL_TITLE, "siren": MEL_SIREN}, lambda: model.Group.by_name(name)


def _commune_targets() -> Iterator[tuple[str, dict[str, Any], Callable[[], model.Group | None]]]:
    for commune in reference_communes():
        yield commune.name, commune.fields(), functools.partial(commune_for_insee, commune.insee_code)

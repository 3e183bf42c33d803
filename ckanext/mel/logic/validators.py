"""Validators of the organisation and dataset schemas (used by name in the YAML)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mel import communes

INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SIREN = re.compile(r"^\d{9}$")
GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def mel_insee_code(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> Any:
    """Five characters of the Code officiel géographique, unique among organisations."""
    value = data.get(key)
    if not value:
        return
    value = str(value).strip().upper()
    if not INSEE_CODE.match(value):
        errors[key].append(tk._("An INSEE code has five characters, such as 59350."))
        return
    data[key] = value
    # On update, the organisation itself (its id or name may be what was given).
    group = context.get("group") or (model.Group.get(data[("id",)]) if data.get(("id",)) else None)
    this_id = group.id if group is not None else None
    other = communes.with_extra(
        model.Session.query(model.Group.name).filter(model.Group.state != "deleted"), "insee_code", value
    )
    if this_id:
        other = other.filter(model.Group.id != this_id)
    taken = other.first()
    if taken:
        errors[key].append(
            tk._("The INSEE code {code} is already used by {name}.").format(code=value, name=taken.name)
        )


def mel_siren(value: Any) -> Any:
    """Nine digits; spaces, as often typed, are dropped."""
    if not value:
        return value
    digits = re.sub(r"\s", "", str(value))
    if not SIREN.match(digits):
        raise tk.Invalid(tk._("A SIREN number has nine digits."))
    return digits


def mel_geojson_geometry(value: Any) -> Any:
    """A GeoJSON geometry (RFC 7946: WGS 84 longitude and latitude), stored as JSON text.

    Checked as far as a spatial index needs: a geometry Solr cannot index would
    leave its dataset out of search while it still counts towards the quota.
    """
    if not value:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise tk.Invalid(tk._("This is not valid GeoJSON.")) from None
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise tk.Invalid(tk._("This is not a GeoJSON geometry."))
    if not isinstance(value.get("coordinates"), list):
        raise tk.Invalid(tk._("A GeoJSON geometry needs coordinates."))
    problem = _geometry_problem(value["type"], value["coordinates"])
    if problem:
        raise tk.Invalid(problem)
    return json.dumps(value, separators=(",", ":"))


def _position_problem(position: Any) -> str | None:
    if (
        not isinstance(position, list)
        or len(position) not in (2, 3)
        or not all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in position)
        or not all(math.isfinite(n) for n in position)
    ):
        return tk._("Each position of a GeoJSON geometry is [longitude, latitude] in numbers.")
    longitude, latitude = position[0], position[1]
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        return tk._(
            "A GeoJSON position is a longitude between -180 and 180 and a latitude between -90 and 90 "
            "(WGS 84), such as [3.06, 50.63]."
        )
    return None


def _line_problem(line: Any, minimum: int) -> str | None:
    if not isinstance(line, list) or len(line) < minimum:
        return tk._("A line of a GeoJSON geometry needs at least two positions.")
    for position in line:
        problem = _position_problem(position)
        if problem:
            return problem
    return None


def _polygon_problem(rings: Any) -> str | None:
    if not isinstance(rings, list) or not rings:
        return tk._("A GeoJSON polygon needs at least one ring.")
    for ring in rings:
        problem = _line_problem(ring, 4)
        if problem:
            return tk._("A ring of a GeoJSON polygon needs at least four positions, the last one the first.")
        if ring[0] != ring[-1]:
            return tk._("A ring of a GeoJSON polygon ends where it starts.")
    return None


def _geometry_problem(kind: str, coordinates: list[Any]) -> str | None:
    """Why these coordinates cannot be a `kind`, or None."""
    if kind == "Point":
        return _position_problem(coordinates)
    if kind == "LineString":
        return _line_problem(coordinates, 2)
    if kind == "Polygon":
        return _polygon_problem(coordinates)
    if not coordinates:
        return tk._("A GeoJSON geometry needs coordinates.")
    single = kind.removeprefix("Multi")
    for part in coordinates:
        problem = _geometry_problem(single, part) if isinstance(part, list) else _position_problem(part)
        if problem:
            return problem
    return None


def mel_commune_id(value: Any, context: Context) -> Any:
    """A commune given by id, name or INSEE code, turned into its organisation id."""
    from ckanext.mel.communes import get_commune

    commune = get_commune(str(value)) if value else None
    if commune is None:
        raise tk.Invalid(tk._("No commune is known by {value!r}.").format(value=value))
    return commune.id


TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0", ""}


def mel_boolean(value: Any) -> Any:
    """A yes/no: true or false in JSON, or a word of a query string ("true", "0"…)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise tk.Invalid(tk._("Give true or false."))


def mel_string(value: Any) -> Any:
    """Text: a number is taken as its digits (an INSEE code), a list or an object is refused."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise tk.Invalid(tk._("Give a text value."))
    return str(value)


def mel_int_in_range(low: int, high: int) -> Callable[[Any], Any]:
    """An integer from `low` to `high`, after int_validator (which takes "12" and 12.0)."""

    def validator(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise tk.Invalid(tk._("Give a whole number from {low} to {high}.").format(low=low, high=high))
        return value

    return validator


def mel_iso_date(value: Any) -> Any:
    """A calendar day, read as CKAN's `isodate` reads it (ISO 8601, a time after it ignored);
    any other text is "Date format incorrect", a year past 9999 included (2.11's isodate let
    its OverflowError through: a 500)."""
    from ckan.lib.helpers import date_str_to_datetime

    if value == "":
        return None
    try:
        return date_str_to_datetime(value).date()
    except (TypeError, ValueError, OverflowError):
        raise tk.Invalid(tk._("Date format incorrect")) from None


# The harmonised dataset schema (schemas/dataset.yaml) and its data models


def mel_dataset_defaults(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> Any:
    """The schema's before_validators: defaults taken from the owning commune."""
    from ckanext.mel.datasets import fill_defaults

    fill_defaults(key, data, errors, context)


def mel_data_model(value: Any) -> Any:
    """The id of a data model of the registry."""
    from ckanext.mel import datamodels

    if value and datamodels.get(value) is None:
        raise tk.Invalid(tk._("There is no data model {id!r}.").format(id=value))
    return value


def mel_license_id(value: Any) -> Any:
    """One of the portal's licences (data/licenses.json)."""
    from ckanext.mel.vocabularies import license_ids

    if value and value not in license_ids():
        raise tk.Invalid(
            tk._("Choose one of the portal's licences: {ids}.").format(ids=", ".join(sorted(license_ids())))
        )
    return value


def mel_resource_format(value: Any) -> Any:
    """A format of the portal's list (the form's choices), spelled as the list spells it.

    Other formats pass unchanged, as in CKAN: the API and harvested metadata may use them.
    """
    from ckanext.mel.vocabularies import get_format

    fmt = get_format(value) if value else None
    return fmt.name if fmt else value


def mel_media_type(key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context) -> Any:
    """The IANA media type of the resource's format; kept as given for other formats."""
    from ckanext.mel.vocabularies import format_of

    fmt = format_of(data.get(key[:-1] + ("format",)), data.get(key[:-1] + ("url",)))
    if fmt is not None:
        data[key] = fmt.media_type


def mel_resource_conforms_to(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> Any:
    """The dataset's data model URL, on its tabular resources."""
    from ckanext.mel import datamodels
    from ckanext.mel.vocabularies import TABULAR_FORMATS, format_of

    data_model = datamodels.get(data.get(("data_model",)) or "")
    fmt = format_of(data.get(key[:-1] + ("format",)), data.get(key[:-1] + ("url",)))
    if fmt is None or fmt.name not in TABULAR_FORMATS:
        return
    if data_model is not None:
        data[key] = data_model.url
    elif data.get(key) in {m.url for m in datamodels.all_models()}:
        data[key] = ""


def mel_resource_url(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> Any:
    """A link is a web address (http or https): file:, gopher:, ftp: or javascript: links are
    neither fetched by the portal nor republished in its feeds. An upload's file name is left alone."""
    from urllib.parse import urlsplit

    value = data.get(key)
    if not value or data.get(key[:-1] + ("url_type",)) == "upload":
        return
    try:
        scheme = urlsplit(str(value)).scheme.lower()
    except ValueError:
        scheme = "?"
    if scheme and scheme not in ("http", "https"):
        errors[key].append(
            tk._(
                "Only web links are accepted (starting with http:// or https://), not “{scheme}:” ones."
            ).format(scheme=scheme)
        )

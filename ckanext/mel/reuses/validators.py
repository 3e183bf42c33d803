"""The reuse schema's validators (schemas/reuse.yaml).

The owner, the review status, the review history and the visibility are the
portal's to decide: whatever a form or an API call sends for them is replaced
by the stored value, except in the review actions (context `mel_reuse_review`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.lib.navl.dictization_functions import missing
from ckan.types import Context, FlattenDataDict, FlattenErrorDict, FlattenKey

from ckanext.mel import communes, reuses

MAX_URL = 500
MAX_TEXT = 200
MAX_DATASETS = 50


def _existing(data: FlattenDataDict) -> model.Package | None:
    ref = data.get(("id",))
    package = model.Package.get(ref) if isinstance(ref, str) and ref else None
    return package if package is not None and reuses.is_reuse(package) else None


def mel_reuse_web_url(value: Any) -> Any:
    if value is missing or value in (None, ""):
        return value
    parts = urlsplit(str(value).strip())
    if len(str(value)) > MAX_URL or parts.scheme not in ("http", "https") or not parts.netloc:
        raise tk.Invalid(tk._("Give a web address that starts with https:// (or http://)."))
    return str(value).strip()


def mel_reuse_short_text(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise tk.Invalid(tk._("At most {count} characters.").format(count=MAX_TEXT))
    return value


def mel_reuse_producer_commune(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """A commune producer names the commune; other producers name none."""
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else ""
    if data.get(("producer_kind",)) != "commune":
        data[key] = ""
        return
    commune = communes.get_commune(value) if value else None
    if commune is None:
        errors[key].append(tk._("Choose the commune that made the reuse."))
        return
    data[key] = commune.name


def mel_reuse_datasets(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """One or more public datasets of the catalogue (never another reuse), stored as their ids.
    Left out of an update (CKAN's edit form has no such field), the stored ones stay."""
    value = data.get(key)
    package = _existing(data)
    if (value is missing or value is None) and package is not None:
        data[key] = json.dumps(reuses.dataset_ids(package))
        return
    try:
        data[key] = _dataset_ids(value)
    except tk.Invalid as error:
        errors[key].append(error.error)


def _dataset_ids(value: Any) -> str:
    if value is missing or value is None:
        value = []
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else text.split(",")
        except ValueError:
            raise tk.Invalid(tk._("Choose the datasets the reuse uses.")) from None
    if not isinstance(value, list):
        raise tk.Invalid(tk._("Choose the datasets the reuse uses."))
    refs = [str(item).strip() for item in value if str(item).strip()]
    if not refs:
        raise tk.Invalid(tk._("Choose at least one dataset that the reuse uses."))
    if len(refs) > MAX_DATASETS:
        raise tk.Invalid(tk._("At most {count} datasets.").format(count=MAX_DATASETS))
    ids: list[str] = []
    for ref in refs:
        dataset = model.Package.get(ref)
        if dataset is None or dataset.state != "active" or dataset.private or dataset.type != "dataset":
            raise tk.Invalid(tk._("No public dataset {name}.").format(name=ref[:100]))
        if dataset.id not in ids:
            ids.append(dataset.id)
    return json.dumps(ids)


def mel_reuse_owner(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """Reuses belong to the MEL's organisation, never to a commune (no quota, no enrolment rule)."""
    organization = model.Group.by_name(communes.mel_organization_name())
    if organization is None or organization.state != "active":
        errors[key].append(tk._("The MEL's organisation does not exist yet: load the communes first."))
        return
    data[key] = organization.id


def mel_reuse_review_status(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    if context.get("mel_reuse_review"):
        if data.get(key) not in reuses.STATUSES:
            errors[key].append(tk._("Unknown review status."))
        return
    package = _existing(data)
    data[key] = (package and reuses.stored(package, "review_status")) or reuses.PROPOSED


def mel_reuse_review_log(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    if context.get("mel_reuse_review"):
        value = data.get(key)
        entries = json.loads(value) if isinstance(value, str) else value
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            errors[key].append(tk._("Invalid review history."))
            return
        data[key] = json.dumps(entries, ensure_ascii=False)
        return
    package = _existing(data)
    data[key] = json.dumps(reuses.stored(package, "review_log") if package else [], ensure_ascii=False)


def mel_reuse_visibility(
    key: FlattenKey, data: FlattenDataDict, errors: FlattenErrorDict, context: Context
) -> None:
    """Public once published, private while proposed or after a refusal."""
    data[("private",)] = data.get(("review_status",)) != reuses.PUBLISHED

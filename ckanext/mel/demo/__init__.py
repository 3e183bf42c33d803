"""Demo data: the ten datasets of the first four communes, each with a sample file.

`load_demo_datasets` is what `ckan mel-demo datasets` runs, after the communes
are loaded and enrolled. It is idempotent: a second run refreshes the metadata
and uploads a sample again only if the file changed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ckan.plugins.toolkit as tk
import yaml
from ckan import model
from werkzeug.datastructures import FileStorage

from ckanext.mel import communes, storage, validation
from ckanext.mel.vocabularies import EU_ACCESS_RIGHT, EU_DATA_THEME, EU_FREQUENCY, EU_LANGUAGE

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
LANGUAGE_FRENCH = EU_LANGUAGE + "FRA"
ACCESS_PUBLIC = EU_ACCESS_RIGHT + "PUBLIC"


def demo_datasets() -> list[dict[str, Any]]:
    with open(HERE / "datasets.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def metropolitan_datasets() -> list[dict[str, Any]]:
    """The MEL's own demo datasets (the carpooling places), owned by its organisation."""
    with open(HERE / "metropolitan.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def dataset_fields(entry: dict[str, Any], organization: model.Group) -> dict[str, Any]:
    """The dataset's metadata, every field of the schema filled."""
    start, end = (str(day) for day in entry["temporal"])
    return {
        "name": entry["name"],
        "title": entry["title"],
        "notes": entry["notes"].strip(),
        "owner_org": organization.id,
        "data_model": entry["data_model"],
        "tag_string": ",".join(entry["tags"]),
        "theme": [EU_DATA_THEME + code for code in entry["theme"]],
        "license_id": "lov2",
        "frequency": EU_FREQUENCY + entry["frequency"],
        "temporal_coverage": [{"start": start, "end": end}],
        "contact": [entry["contact"]],
        "issued": str(entry["issued"]),
        "modified": str(entry["modified"]),
        "language": [LANGUAGE_FRENCH],
        "access_rights": ACCESS_PUBLIC,
        # A commune's dataset gets its commune as coverage; the MEL's says its own.
        **({"spatial_coverage": entry["spatial_coverage"]} if entry.get("spatial_coverage") else {}),
    }


def load_demo_datasets(
    context: dict[str, Any],
    progress: Callable[[str], None] = lambda line: None,
    entries: list[dict[str, Any]] | None = None,
) -> dict[str, int]:
    """Create or refresh the demo datasets (the communes' unless `entries` says
    otherwise) and their files; returns counts per outcome."""
    counts = {"created": 0, "updated": 0, "invalid": 0}
    entries = demo_datasets() if entries is None else entries
    for position, entry in enumerate(entries, 1):
        organization = _owner(entry)
        fields = dataset_fields(entry, organization)
        existing = model.Package.get(entry["name"])
        if existing is None:
            dataset = tk.get_action("package_create")(dict(context), fields)
            counts["created"] += 1
        else:
            dataset = tk.get_action("package_patch")(
                dict(context), {"id": existing.id, "state": "active", **fields}
            )
            counts["updated"] += 1
        resource = _upload_sample(context, dataset, entry)
        report = validation.show(resource["id"]) or {}
        status = report.get("status", "not checked")
        if status != validation.VALID:
            counts["invalid"] += 1
        progress(f"[{position}/{len(entries)}] {organization.title} — {entry['title']}: {status}")
    return counts


def _owner(entry: dict[str, Any]) -> model.Group:
    """The entry's commune, or the MEL's own organisation for `organization: mel`."""
    if entry.get("organization") == "mel":
        organization = model.Group.by_name(communes.mel_organization_name())
    else:
        organization = communes.get_commune(entry["commune"])
    if organization is None:
        wanted = entry.get("commune") or entry.get("organization")
        raise tk.ObjectNotFound(
            f"No organisation {wanted!r}: load the communes first (ckan mel communes load)."
        )
    return organization


def _upload_sample(context: dict[str, Any], dataset: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Upload the sample as the dataset's resource, unless the same file is already there."""
    content = (SAMPLES / entry["file"]).read_bytes()
    current = next((r for r in dataset["resources"] if r["name"] == entry["file"]), None)
    fields = {
        "name": entry["file"],
        "description": entry["description"],
        "format": "CSV",
        "url": entry["file"],
    }
    if current is None:
        return tk.get_action("resource_create")(
            dict(context),
            {"package_id": dataset["id"], "upload": _file(content, entry["file"]), **fields},
        )
    if _stored_digest(current) == hashlib.sha256(content).hexdigest():
        if validation.show(current["id"]) is None:
            validation.on_resource_changed(current["id"])
        return current
    return tk.get_action("resource_patch")(
        dict(context), {"id": current["id"], "upload": _file(content, entry["file"]), **fields}
    )


def _file(content: bytes, filename: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename, content_type="text/csv")


def _stored_digest(resource: dict[str, Any]) -> str | None:
    resource_object = model.Resource.get(resource["id"])
    if resource_object is None or resource_object.url_type != "upload":
        return None
    try:
        digest = hashlib.sha256()
        for chunk in storage.chunks(resource_object.id):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


FICTIONAL_REUSE = "**Réutilisation fictive** : exemple de démonstration du portail, inventé."


def demo_reuses() -> list[dict[str, Any]]:
    with open(HERE / "reuses.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_demo_reuses(
    context: dict[str, Any], progress: Callable[[str], None] = lambda line: None
) -> dict[str, int]:
    """Propose and publish the six demo reuses (after the demo datasets); idempotent."""
    counts = {"created": 0, "updated": 0}
    entries = demo_reuses()
    for position, entry in enumerate(entries, 1):
        missing = [name for name in entry["datasets"] if model.Package.get(name) is None]
        if missing:
            raise tk.ObjectNotFound(f"No dataset {missing[0]!r}: load the demo datasets first.")
        fields = {
            "title": entry["title"],
            "notes": f"{entry['notes'].strip()}\n\n{FICTIONAL_REUSE}",
            "reuse_type": entry["reuse_type"],
            "producer_kind": entry["producer_kind"],
            "producer_name": entry["producer_name"],
            "url": entry["url"],
            "reuse_date": str(entry["reuse_date"]),
            "reuse_datasets": entry["datasets"],
        }
        existing = model.Package.get(entry["name"])
        if existing is None:
            reuse = tk.get_action("mel_reuse_propose")(dict(context), {"name": entry["name"], **fields})
            counts["created"] += 1
        else:
            reuse = tk.get_action("package_patch")(dict(context), {"id": existing.id, **fields})
            counts["updated"] += 1
        if reuse.get("review_status") != "published":
            reuse = tk.get_action("mel_reuse_publish")(dict(context), {"id": reuse["id"]})
        progress(f"[{position}/{len(entries)}] {entry['title']}: {reuse['review_status']}")
    return counts

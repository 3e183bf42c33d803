"""Metadata quality: data.europa.eu's MQA method, applied to the portal's own feed.

A dataset is scored on the graph that the DCAT-AP 2 feed publishes for it (what
data.europa.eu harvests and validates against DCAT-AP 2.1.1), check by check, out
of 405 points. Dataset-level checks score their full weight or nothing;
distribution-level checks score the share of distributions that pass, except
interoperability, which takes the best distribution, as the MQA does.

Reachability is judged offline, without any request: a URL of the portal answers
when it names an active resource of an active dataset and, for a download URL,
when the uploaded file is in the storage. URLs on other sites are not fetched and
score nothing. A commune's score is the mean of its public datasets' scores.

Scoring takes a SHACL validation: it is done in a background job after each
committed change to a dataset or its files (`watch_datasets`), and stored in
Redis under the dataset's `metadata_modified`, so that a page view only reads it
(`stored_quality`). The actions score what is not stored yet themselves.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ckan.plugins.toolkit as tk
import pyshacl
from ckan import model
from rdflib import Graph, Namespace, URIRef
from rdflib.term import Node
from sqlalchemy import event
from sqlalchemy.orm import Session

from ckanext.dcat.processors import RDFSerializer
from ckanext.dcat.profiles import DCAT, DCT
from ckanext.mel import after_request, storage, vocabularies
from ckanext.mel.profiles import DCAT_AP_2_PROFILES
from ckanext.mel.redis_client import redis
from ckanext.mel.vocabularies import EU_ACCESS_RIGHT, EU_LICENCE

log = logging.getLogger(__name__)
SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES = Path(__file__).parent / "data" / "dcat-ap_2.1.1_shacl_shapes.ttl"
MAX_POINTS = 405
RATINGS = ((351, "excellent"), (221, "good"), (121, "sufficient"), (0, "bad"))
CACHE_VERSION = 2  # bump when the checks change
CACHE_SECONDS = 30 * 24 * 3600  # scores of datasets that no longer change, then scored again
QUEUED_SECONDS = 600
# A queue of its own (`ckan jobs worker default mel_quality`): scores never delay file checks.
QUEUE = "mel_quality"
_CHANGED = "mel_quality_changed_datasets"

# The portal's formats (EU file-type codes) the MQA counts as non-proprietary and as
# machine-readable (vocabularies.FORMATS). Others score nothing.
NON_PROPRIETARY = {f.eu_code for f in vocabularies.FORMATS if f.non_proprietary}
MACHINE_READABLE = {f.eu_code for f in vocabularies.FORMATS if f.machine_readable}

RESOURCE_PATH = re.compile(
    r"^/dataset/(?P<dataset>[^/]+)/resource/(?P<resource>[^/?#]+)(?P<download>/download(/[^?#]*)?)?/?$"
)

Test = Callable[[Graph, Node], bool]


@dataclass(frozen=True)
class Check:
    key: str
    dimension: str
    points: int
    level: str  # "dataset", "distribution" (share that pass) or "best" (best distribution)
    test: Test | None  # None: the DCAT-AP compliance, computed on the whole graph


def _has(predicate: URIRef) -> Test:
    return lambda g, node: (node, predicate, None) in g


def _any(predicate: URIRef, condition: Callable[[str], bool]) -> Test:
    return lambda g, node: any(condition(str(value)) for value in g.objects(node, predicate))


def _file_type(g: Graph, node: Node) -> str | None:
    value = str(next(iter(g.objects(node, DCT["format"])), ""))
    return value[len(vocabularies.EU_FILE_TYPE) :] if value.startswith(vocabularies.EU_FILE_TYPE) else None


def reachable(url: str) -> bool:
    """Whether the URL answers, judged offline (see the module's doc)."""
    site = tk.config["ckan.site_url"].rstrip("/")
    match = RESOURCE_PATH.match(url[len(site) :]) if url.startswith(site + "/") else None
    if match is None:
        return False
    resource = model.Resource.get(match["resource"])
    if resource is None or resource.state != "active" or resource.package.state != "active":
        return False
    if match["dataset"] not in (resource.package.id, resource.package.name):
        return False
    if not match["download"]:
        return True
    if resource.url_type != "upload":
        return False
    return storage.size(resource.id) is not None


CHECKS = (
    Check("keywords", "findability", 30, "dataset", _has(DCAT.keyword)),
    Check("themes", "findability", 30, "dataset", _has(DCAT.theme)),
    Check("spatial", "findability", 20, "dataset", _has(DCT.spatial)),
    Check("temporal", "findability", 20, "dataset", _has(DCT.temporal)),
    Check("access_url_reachable", "accessibility", 50, "distribution", _any(DCAT.accessURL, reachable)),
    Check("download_url", "accessibility", 20, "distribution", _has(DCAT.downloadURL)),
    Check(
        "download_url_reachable",
        "accessibility",
        30,
        "distribution",
        _any(DCAT.downloadURL, reachable),
    ),
    Check("format", "interoperability", 20, "best", _has(DCT["format"])),
    Check("media_type", "interoperability", 10, "best", _has(DCAT.mediaType)),
    Check(
        "format_vocabulary",
        "interoperability",
        10,
        "best",
        lambda g, node: _file_type(g, node) is not None
        or _any(DCAT.mediaType, lambda v: v.startswith(vocabularies.IANA_MEDIA_TYPE))(g, node),
    ),
    Check(
        "non_proprietary",
        "interoperability",
        20,
        "best",
        lambda g, n: _file_type(g, n) in NON_PROPRIETARY,
    ),
    Check(
        "machine_readable",
        "interoperability",
        20,
        "best",
        lambda g, n: _file_type(g, n) in MACHINE_READABLE,
    ),
    Check("dcat_ap_compliance", "interoperability", 30, "dataset", None),
    Check("licence", "reusability", 20, "distribution", _has(DCT.license)),
    Check(
        "licence_vocabulary",
        "reusability",
        10,
        "distribution",
        _any(DCT.license, lambda v: v.startswith(EU_LICENCE)),
    ),
    Check("access_rights", "reusability", 10, "dataset", _has(DCT.accessRights)),
    Check(
        "access_rights_vocabulary",
        "reusability",
        5,
        "dataset",
        _any(DCT.accessRights, lambda v: v.startswith(EU_ACCESS_RIGHT)),
    ),
    Check("contact_point", "reusability", 20, "dataset", _has(DCAT.contactPoint)),
    Check("publisher", "reusability", 10, "dataset", _has(DCT.publisher)),
    Check("rights", "contextuality", 5, "distribution", _has(DCT.rights)),
    Check("byte_size", "contextuality", 5, "distribution", _has(DCAT.byteSize)),
    Check("issued", "contextuality", 5, "dataset", _has(DCT.issued)),
    Check("modified", "contextuality", 5, "dataset", _has(DCT.modified)),
)
assert sum(check.points for check in CHECKS) == MAX_POINTS


def texts() -> dict[str, tuple[str, str]]:
    """Each check's label and what the agent can do about it, translated."""
    _ = tk._
    return {
        "keywords": (_("Keywords"), _("Add a few keywords people would search for.")),
        "themes": (_("Themes"), _("Choose the dataset's theme.")),
        "spatial": (
            _("Spatial coverage"),
            _("Give the area the data covers (left empty, the commune is used)."),
        ),
        "temporal": (_("Temporal coverage"), _("Give the period the data covers.")),
        "access_url_reachable": (
            _("Reachable access URL"),
            _(
                "Upload the file, or link directly to a file: "
                "links to web pages of other sites are not checked."
            ),
        ),
        "download_url": (
            _("Download URL"),
            _("Upload the file, or link directly to the file rather than to a web page."),
        ),
        "download_url_reachable": (
            _("Reachable download URL"),
            _("Upload the file to the portal: files on other sites are not checked and score no point."),
        ),
        "format": (_("Format"), _("Choose the file's format.")),
        "media_type": (_("Media type"), _("Choose a format of the list: its media type follows.")),
        "format_vocabulary": (
            _("Format from a controlled vocabulary"),
            _("Choose a format of the list."),
        ),
        "non_proprietary": (
            _("Non-proprietary format"),
            _("Publish the data in an open format, such as CSV."),
        ),
        "machine_readable": (
            _("Machine-readable format"),
            _("Publish the data in a format a program can read, such as CSV."),
        ),
        "dcat_ap_compliance": (
            _("DCAT-AP compliance"),
            _("Fill in the title and description of the dataset and of its files."),
        ),
        "licence": (_("Licence"), _("Choose the licence.")),
        "licence_vocabulary": (
            _("Licence from a controlled vocabulary"),
            _("Choose Licence Ouverte 2.0 or ODbL."),
        ),
        "access_rights": (_("Access rights"), _("Choose the access rights.")),
        "access_rights_vocabulary": (
            _("Access rights from a controlled vocabulary"),
            _("Choose the access rights in the list."),
        ),
        "contact_point": (
            _("Contact point"),
            _("Give a contact point (left empty, the commune's email is used)."),
        ),
        "publisher": (_("Publisher"), _("Publish the dataset under a commune.")),
        "rights": (
            _("Rights"),
            _("Choose Licence Ouverte 2.0 or ODbL: their conditions of reuse are published with the files."),
        ),
        "byte_size": (_("File size"), _("Upload the file: its size is then known.")),
        "issued": (_("Date of publication"), _("Give the date the data was first published.")),
        "modified": (_("Date of last update"), _("Give the date the data last changed.")),
    }


def rating(score: float) -> str:
    return next(name for threshold, name in RATINGS if score >= threshold)


def rating_label(name: str) -> str:
    return {
        "excellent": tk._("Excellent"),
        "good": tk._("Good"),
        "sufficient": tk._("Sufficient"),
        "bad": tk._("Bad"),
    }[name]


# Datasets


def _key(dataset_id: str) -> str:
    return f"mel:quality:{CACHE_VERSION}:{tk.config['ckan.site_id']}:{dataset_id}"


def _stored(dataset_dict: dict[str, Any]) -> dict[str, Any] | None:
    """The stored measure of this version of the dataset, if any."""
    cached = redis().get(_key(dataset_dict["id"]))
    if cached is None:
        return None
    stored = json.loads(cached)
    return stored["measured"] if stored["modified"] == dataset_dict.get("metadata_modified") else None


def _store(dataset_dict: dict[str, Any], measured: dict[str, Any]) -> None:
    value = json.dumps({"modified": dataset_dict.get("metadata_modified"), "measured": measured})
    redis().set(_key(dataset_dict["id"]), value, ex=CACHE_SECONDS)


def _with_result(measured: dict[str, Any]) -> dict[str, Any]:
    result = _result(measured["shares"])
    result["violations"] = measured["violations"]
    return result


def dataset_quality(dataset_dict: dict[str, Any], serializer: RDFSerializer | None = None) -> dict[str, Any]:
    """The score of one dataset, check by check, with what is missing: stored, or measured now."""
    measured = _stored(dataset_dict)
    if measured is None:
        measured = measure(dataset_dict, serializer)
        _store(dataset_dict, measured)
    return _with_result(measured)


def stored_quality(dataset_dict: dict[str, Any]) -> dict[str, Any] | None:
    """The score as the job stored it, for page views: None (and the job queued) until then."""
    measured = _stored(dataset_dict)
    if measured is None:
        queue_scoring(dataset_dict["id"])
        return None
    return _with_result(measured)


def score_dataset(dataset_id: str) -> None:
    """The background job: measure the dataset as it is now and store its score."""
    redis().delete(_key(dataset_id) + ":queued")
    try:
        dataset = tk.get_action("package_show")({"ignore_auth": True}, {"id": dataset_id})
    except tk.ObjectNotFound:
        return
    if dataset.get("type", "dataset") == "dataset" and dataset["state"] != "deleted":
        _store(dataset, measure(dataset))


def queue_scoring(dataset_id: str) -> None:
    """Score the dataset in a background job, unless one is already queued for it."""
    if redis().set(_key(dataset_id) + ":queued", 1, nx=True, ex=QUEUED_SECONDS):
        tk.enqueue_job(score_dataset, [dataset_id], title=f"mel: quality of {dataset_id}", queue=QUEUE)


# Every committed change to a dataset or its files, by any path, queues its scoring
# (at the end of the request: after_request.py).


def _note_changed_datasets(session: Session, _flush_context: Any) -> None:
    changed = session.info.setdefault(_CHANGED, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, model.Package) and obj.id:
            changed.add(obj.id)
        elif isinstance(obj, model.Resource) and obj.package_id:
            changed.add(obj.package_id)


def _queue_after_commit(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if changed:
        after_request.queue(_queue_scorings, changed)


def _queue_scorings(dataset_ids: set[str]) -> None:
    for dataset_id in dataset_ids:
        queue_scoring(dataset_id)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def watch_datasets() -> None:
    if not event.contains(model.Session, "after_flush", _note_changed_datasets):
        event.listen(model.Session, "after_flush", _note_changed_datasets)
        event.listen(model.Session, "after_commit", _queue_after_commit)
        event.listen(model.Session, "after_rollback", _forget_after_rollback)


def measure(dataset_dict: dict[str, Any], serializer: RDFSerializer | None = None) -> dict[str, Any]:
    """Each check's share (0 to 1) and the DCAT-AP violations, on the dataset's DCAT-AP 2 graph."""
    if serializer is None:
        from ckanext.mel.feeds import serializer_for

        serializer = serializer_for(tuple(DCAT_AP_2_PROFILES))
    serializer.g = Graph()
    dataset_ref = serializer.graph_from_dataset(dataset_dict)
    g = serializer.g
    distributions = list(g.objects(dataset_ref, DCAT.distribution))
    violations = dcat_ap_violations(g)
    best = max(distributions, key=lambda d: _interoperability(g, d), default=None)
    shares = {}
    for check in CHECKS:
        if check.test is None:
            shares[check.key] = 0.0 if violations else 1.0
        elif check.level == "dataset":
            shares[check.key] = float(check.test(g, dataset_ref))
        elif check.level == "best":
            shares[check.key] = float(best is not None and check.test(g, best))
        else:
            passed = [check.test(g, d) for d in distributions]
            shares[check.key] = sum(passed) / len(passed) if passed else 0.0
    return {"shares": shares, "violations": violations}


def _interoperability(g: Graph, distribution: Node) -> int:
    return sum(
        c.points for c in CHECKS if c.level == "best" and c.test is not None and c.test(g, distribution)
    )


def dcat_ap_violations(graph: Graph) -> list[str]:
    """The DCAT-AP 2.1.1 SHACL messages for the graph; empty when it conforms."""
    _conforms, results, _text = pyshacl.validate(graph, shacl_graph=_shapes())
    return sorted({str(message) for message in results.objects(None, SH.resultMessage)})


@lru_cache(maxsize=1)
def _shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def _result(shares: dict[str, float]) -> dict[str, Any]:
    labels = texts()
    checks: list[dict[str, Any]] = []
    for check in CHECKS:
        points = check.points * shares[check.key]
        label, hint = labels[check.key]
        checks.append(
            {
                "key": check.key,
                "dimension": check.dimension,
                "label": label,
                "hint": hint,
                "max": check.points,
                "points": round(points, 1),
                "share": round(shares[check.key], 3),
            }
        )
    score = round(sum(c["points"] for c in checks))
    return {
        "score": score,
        "max": MAX_POINTS,
        "rating": rating(score),
        "rating_label": rating_label(rating(score)),
        "dimensions": {
            dimension: {
                "points": round(sum(c["points"] for c in checks if c["dimension"] == dimension)),
                "max": sum(c["max"] for c in checks if c["dimension"] == dimension),
            }
            for dimension in dict.fromkeys(c.dimension for c in CHECKS)
        },
        "checks": checks,
        "missing": [{**c, "points_lost": round(c["max"] - c["points"], 1)} for c in checks if c["share"] < 1],
    }


# Communes


def public_datasets(organization_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The public, active datasets, as the feeds publish them (from the search index)."""
    fq = "+dataset_type:dataset"
    if organization_ids is not None:
        fq += " +owner_org:({})".format(" OR ".join(f'"{i}"' for i in organization_ids) or '""')
    datasets: list[dict[str, Any]] = []
    while True:
        page = tk.get_action("package_search")(
            {"ignore_auth": True},
            {"fq": fq, "rows": 1000, "start": len(datasets), "sort": "metadata_created asc"},
        )
        datasets.extend(page["results"])
        if not page["results"] or len(datasets) >= page["count"]:
            return datasets


def summarise(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Several datasets' score (a commune's): the mean of theirs, check by check."""
    if not scores:
        return {
            "score": None,
            "max": MAX_POINTS,
            "rating": None,
            "rating_label": None,
            "dataset_count": 0,
            "dimensions": {},
            "checks": [],
            "missing": [],
        }
    by_dataset = [{c["key"]: c["share"] for c in score["checks"]} for score in scores]
    result = _result({c.key: sum(d[c.key] for d in by_dataset) / len(by_dataset) for c in CHECKS})
    for item in result["missing"]:
        item["datasets_missing"] = sum(1 for d in by_dataset if d[item["key"]] < 1)
    result["dataset_count"] = len(scores)
    return result


def organization_quality(organization: model.Group) -> dict[str, Any]:
    """An organisation's score, and each of its public datasets'."""
    from ckanext.mel.feeds import serializer_for

    serializer = serializer_for(tuple(DCAT_AP_2_PROFILES))
    scored = [(d, dataset_quality(d, serializer)) for d in public_datasets([organization.id])]
    result = summarise([score for _dataset, score in scored])
    result["datasets"] = [
        {
            "id": d["id"],
            "name": d["name"],
            "title": d["title"],
            "score": s["score"],
            "rating": s["rating"],
        }
        for d, s in scored
    ]
    return result


def organizations_quality() -> list[dict[str, Any]]:
    """Every organisation's score from one search of the public datasets: for the MEL console."""
    from ckanext.mel.feeds import serializer_for

    serializer = serializer_for(tuple(DCAT_AP_2_PROFILES))
    scores: dict[str, list[dict[str, Any]]] = {}
    for dataset in public_datasets():
        scores.setdefault(dataset["owner_org"], []).append(dataset_quality(dataset, serializer))
    organizations = (
        model.Session.query(model.Group)
        .filter(model.Group.is_organization.is_(True), model.Group.state == "active")
        .order_by(model.Group.title)
    )
    rows = []
    for organization in organizations:
        summary = summarise(scores.get(organization.id, []))
        summary.pop("checks")
        rows.append(
            {
                "id": organization.id,
                "name": organization.name,
                "title": organization.title,
                "insee_code": organization.extras.get("insee_code"),
                **summary,
            }
        )
    return rows

"""A metropolitan dataset's provenance in DCAT: `dct:source` → each source dataset.

Called by the `mel` RDF profile (profiles.py) for each dataset: only datasets of
the MEL's organisation cost a query (one, on mel_consolidation), so the feeds'
pages of communes' datasets stay as they were. The source datasets are named by
the URI the feeds give them (ckanext-dcat's dataset_uri), so a harvester joins
them with their own descriptions in the catalogue.
"""

from __future__ import annotations

from typing import Any

from rdflib import Graph
from rdflib.term import Node

from ckanext.dcat.profiles import DCT, CleanedURIRef
from ckanext.dcat.utils import dataset_uri
from ckanext.mel import communes


def describe_sources(graph: Graph, dataset_ref: Node, dataset_dict: dict[str, Any]) -> None:
    from ckanext.mel.consolidation.state import Consolidation

    organization = dataset_dict.get("organization") or {}
    if organization.get("name") != communes.mel_organization_name() or not dataset_dict.get("id"):
        return
    state = Consolidation.for_package(dataset_dict["id"])
    if state is None:
        return
    for package_id in sorted({source["package_id"] for source in state.sources or []}):
        graph.add((dataset_ref, DCT.source, CleanedURIRef(dataset_uri({"id": package_id}))))

"""A loaded distribution's API in DCAT: `dcat:accessService` → `dcat:DataService`.

Called by the `mel` RDF profile (profiles.py) for each distribution. Only
`datastore_active` is read, from the resource dict the feed already holds: the
feeds stay one query per page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import ckan.plugins.toolkit as tk
from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from ckanext.dcat.profiles import DCAT, DCT, FOAF, RDF, RDFS

# What a developer reads to use the endpoint: the DataStore API's reference.
API_DOCUMENTATION = "https://docs.ckan.org/en/latest/maintaining/datastore.html#the-datastore-api"


def describe_access_service(
    graph: Graph, distribution: URIRef, resource: dict[str, Any], dataset: Node
) -> None:
    """The DataStore API serving this distribution's rows, if they are in it."""
    if not resource.get("datastore_active") or not resource.get("id"):
        return
    site_url = tk.config.get("ckan.site_url").rstrip("/")
    resource_id = quote(resource["id"], safe="")
    service = URIRef(f"{str(distribution)}#data-service")
    endpoint = URIRef(f"{site_url}/api/action/datastore_search?resource_id={resource_id}")
    documentation = URIRef(API_DOCUMENTATION)
    name = resource.get("name") or resource["id"]
    graph.add((distribution, DCAT.accessService, service))
    graph.add((service, RDF.type, DCAT.DataService))
    graph.add((service, DCT.title, Literal(f"API des données : {name}", lang="fr")))
    graph.add(
        (
            service,
            DCT.description,
            Literal(
                "Les lignes du fichier, typées selon son modèle de données, à interroger par l'API "
                "DataStore de CKAN (filtres, tri, recherche plein texte, pagination).",
                lang="fr",
            ),
        )
    )
    graph.add((service, DCAT.endpointURL, endpoint))
    graph.add((endpoint, RDF.type, RDFS.Resource))
    graph.add((service, DCAT.endpointDescription, documentation))
    graph.add((documentation, RDF.type, RDFS.Resource))
    graph.add((documentation, RDF.type, FOAF.Document))
    graph.add((service, FOAF.page, documentation))
    graph.add((service, DCAT.servesDataset, dataset))
    licences = list(graph.objects(distribution, DCT.license))
    if len(licences) == 1:
        graph.add((service, DCT.license, licences[0]))

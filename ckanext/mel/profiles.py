"""The `mel` RDF profile: DCAT-AP as data.gouv.fr and data.europa.eu read it.

It runs after ckanext-dcat's DCAT-AP profile (`euro_dcat_ap_3`, or `euro_dcat_ap_2`
with `euro_dcat_ap_scheming`) and completes or corrects its graph:

- the publisher is the commune as a `foaf:Organization`, identified by its SIREN;
- places carry a bounding-box polygon and a centroid instead of `locn:geometry`,
  because DCAT-AP 2.1.1 wants that geometry as a literal and DCAT-AP 3 as a node:
  `dcat:bbox` validates under both, and data.gouv.fr keeps it as the coverage;
- distributions get EU file-type and IANA media-type URIs, an EU licence URI that
  data.gouv.fr also recognises (by its label), a rights statement, an availability,
  and a download URL for files, their access URL being the resource's page;
- vocabulary terms are typed and labelled as the SHACL shapes expect.

Parsing maps these back to the portal's fields, so that ckanext-dcat's harvester
gets the licence, formats and data-model link of a MEL feed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ckan.plugins.toolkit as tk
import shapely
import shapely.wkt
from ckan import model
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

from ckanext.dcat.profiles import (
    DCAT,
    DCATAP,
    DCT,
    FOAF,
    GEOJSON_IMT,
    GSP,
    LOCN,
    RDF,
    RDFS,
    SKOS,
    CleanedURIRef,
    RDFProfile,
)
from ckanext.dcat.utils import catalog_uri, resource_uri
from ckanext.mel import communes, vocabularies

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_LICENCE = EU_AUTHORITY + "licence/"
EU_LANGUAGE = EU_AUTHORITY + "language/"
DATA_THEMES = URIRef(EU_AUTHORITY + "data-theme")
AVAILABILITY = EU_AUTHORITY + "planned-availability/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")

# The DCAT-AP 2 serialisation, for data.europa.eu: its MQA checks DCAT-AP 2.1.1.
DCAT_AP_2_PROFILES = ["euro_dcat_ap_2", "euro_dcat_ap_scheming", "mel"]

LOCALE_LANGUAGES = {"fr": "FRA", "en": "ENG", "nl": "NLD"}
BBOX_MARGIN = 1e-4  # degrees, about 10 m


@dataclass(frozen=True)
class Licence:
    """How a licence of the portal's list is published."""

    eu_code: str  # in the EU licence authority table
    types: tuple[str, ...]  # ADMS licence types
    rights: str  # the conditions of reuse, for dct:rights

    @property
    def uri(self) -> str:
        return EU_LICENCE + self.eu_code


# data.gouv.fr matches the licence node's rdfs:label (the licence's title) with its
# own list; data.europa.eu scores the EU authority-table URI.
LICENCES = {
    "lov2": Licence(
        "ETALAB_2_0",
        ("Attribution",),
        "Réutilisation libre et gratuite, y compris commerciale, sous réserve de mentionner "
        "la source des données et la date de leur dernière mise à jour.",
    ),
    "odc-odbl": Licence(
        "ODC_BL",
        ("Attribution", "ShareAlike"),
        "Réutilisation libre sous réserve de mentionner la source et de partager sous la même "
        "licence les bases de données qui en sont dérivées.",
    ),
}
LICENCE_TYPE_LABELS = {
    "Attribution": "Attribution",
    "ShareAlike": "Share-alike",
    "UnknownIPR": "Unknown IPR",
}
UNKNOWN_IPR = URIRef(ADMS_LICENCE_TYPE + "UnknownIPR")


def licence_uri(license_id: str | None) -> str | None:
    """The URI a licence is published under: EU authority table first, else its own URL."""
    if not license_id:
        return None
    if license_id in LICENCES:
        return LICENCES[license_id].uri
    if license_id.startswith(("http://", "https://")):
        return license_id
    licence = model.Package.get_license_register().get(license_id)
    return licence.url if licence is not None and licence.url else None


def license_id_for(uri: str) -> str | None:
    return next((key for key, lic in LICENCES.items() if lic.uri == uri), None)


@lru_cache(maxsize=1)
def mel_territory() -> shapely.Geometry:
    """The union of the communes' boundaries, from the shipped reference file."""
    return shapely.union_all([shapely.from_geojson(c.boundary) for c in communes.reference_communes()])


class MelProfile(RDFProfile):
    # Datasets

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        owner = dataset_dict.get("owner_org")
        organization = model.Group.get(owner) if owner else None
        if organization is not None:
            for publisher in self.g.objects(dataset_ref, DCT.publisher):
                self._organization(publisher, organization.title, organization.extras.get("siren"))
        self._landing_page(dataset_ref, dataset_dict)
        self._themes(dataset_ref)
        places = _commune_places(organization)
        for location in list(self.g.objects(dataset_ref, DCT.spatial)):
            self._location(dataset_ref, location, places)
        for resource in dataset_dict.get("resources", []):
            self._distribution(CleanedURIRef(resource_uri(resource)), resource, dataset_dict)

    def _organization(self, agent: Node, name: str, siren: str | None) -> None:
        self.g.add((agent, RDF.type, FOAF.Agent))
        self.g.add((agent, RDF.type, FOAF.Organization))
        if (agent, FOAF.name, None) not in self.g:
            self.g.add((agent, FOAF.name, Literal(name)))
        if siren and (agent, DCT.identifier, None) not in self.g:
            self.g.add((agent, DCT.identifier, Literal(siren)))
        if (agent, DCT.type, None) not in self.g:
            self.g.add((agent, DCT.type, LOCAL_AUTHORITY))
            self._concept(LOCAL_AUTHORITY, {"en": "Local Authority"})

    def _landing_page(self, dataset_ref: Node, dataset_dict: dict[str, Any]) -> None:
        if (dataset_ref, DCAT.landingPage, None) not in self.g and dataset_dict.get("name"):
            page = URIRef(f"{_site_url()}/dataset/{dataset_dict['name']}")
            self.g.add((dataset_ref, DCAT.landingPage, page))
        for page in self.g.objects(dataset_ref, DCAT.landingPage):
            self.g.add((page, RDF.type, FOAF.Document))

    def _themes(self, dataset_ref: Node) -> None:
        labels = _choice_labels("theme")
        for theme in self.g.objects(dataset_ref, DCAT.theme):
            if str(theme) in labels:
                self._concept(theme, labels[str(theme)], scheme=DATA_THEMES)

    def _location(self, dataset_ref: Node, location: Node, places: dict[str, shapely.Geometry]) -> None:
        """A bounding box and a centroid in place of the geometries (see the module's doc).

        A commune's URI is shared by the datasets of a feed page: it carries the
        commune's own box, and a dataset covering only part of the commune gets a
        place of its own for that part.
        """
        self.g.add((location, RDF.type, DCT.Location))
        shapes = [s for v in self.g.objects(location, LOCN.geometry) if (s := _geometry(v)) is not None]
        self.g.remove((location, LOCN.geometry, None))
        area = shapely.union_all(shapes) if shapes else None
        commune = places.get(str(location))
        if commune is None:
            if area is not None:
                self._bbox_and_centroid(location, area)
            return
        self._bbox_and_centroid(location, commune)
        if area is not None and not _same_box(area, commune):
            part = BNode()
            self.g.add((dataset_ref, DCT.spatial, part))
            self.g.add((part, RDF.type, DCT.Location))
            self._bbox_and_centroid(part, area)

    def _bbox_and_centroid(self, location: Node, shape: shapely.Geometry) -> None:
        if (location, DCAT.bbox, None) not in self.g:
            # ckanext-dcat rounds WKT to 4 decimals: widen the box by as much to keep the area in.
            west, south, east, north = shape.bounds
            box = shapely.box(
                west - BBOX_MARGIN, south - BBOX_MARGIN, east + BBOX_MARGIN, north + BBOX_MARGIN
            )
            self.g.add((location, DCAT.bbox, Literal(shapely.to_geojson(box), datatype=GEOJSON_IMT)))
        if (location, DCAT.centroid, None) not in self.g:
            centroid = shapely.wkt.dumps(shapely.centroid(shape), rounding_precision=6)
            self.g.add((location, DCAT.centroid, Literal(centroid, datatype=GSP.wktLiteral)))

    # Distributions

    def _distribution(self, ref: URIRef, resource: dict[str, Any], dataset_dict: dict[str, Any]) -> None:
        file_format = vocabularies.get_format(resource.get("format"))
        self._urls(ref, resource, file_format)
        if file_format is not None:
            self._replace(ref, DCT["format"], URIRef(file_format.eu_uri), DCT.MediaTypeOrExtent)
            self._replace(ref, DCAT.mediaType, URIRef(file_format.media_type_uri), DCT.MediaType)
        self._licence(ref, resource.get("license") or dataset_dict.get("license_id"))
        if (ref, DCATAP.availability, None) not in self.g:
            code = "STABLE" if resource.get("url_type") == "upload" else "AVAILABLE"
            availability = URIRef(AVAILABILITY + code)
            self.g.add((ref, DCATAP.availability, availability))
            self._concept(availability, {"en": code.lower()})
        if (ref, DCT.description, None) not in self.g:
            # DCAT-AP recommends a description: say what the file is.
            kind = file_format.name if file_format else (resource.get("format") or "")
            text = f"{resource.get('name') or kind} — {dataset_dict.get('title', '')}".strip(" —")
            self.g.add((ref, DCT.description, Literal(text)))
        for standard in self.g.objects(ref, DCT.conformsTo):
            self.g.add((standard, RDF.type, DCT.Standard))
        for predicate in (DCAT.accessURL, DCAT.downloadURL):
            for url in self.g.objects(ref, predicate):
                self.g.add((url, RDF.type, RDFS.Resource))

    def _urls(self, ref: URIRef, resource: dict[str, Any], file_format: Any) -> None:
        """Files get a download URL; their access URL is their page on the portal."""
        url = resource.get("url")
        is_file = resource.get("url_type") == "upload" or (
            file_format is not None and file_format.name != "HTML"
        )
        if not url or not is_file:
            return
        if (ref, DCAT.downloadURL, None) not in self.g:
            self.g.add((ref, DCAT.downloadURL, CleanedURIRef(url)))
        self.g.remove((ref, DCAT.accessURL, None))
        self.g.add((ref, DCAT.accessURL, ref))

    def _licence(self, ref: URIRef, license_id: str | None) -> None:
        licence = self._licence_document(license_id)
        if licence is None:
            return
        for old in self.g.objects(ref, DCT.license):
            self.g.remove((old, DCT.type, UNKNOWN_IPR))
        self.g.remove((ref, DCT.license, None))
        self.g.add((ref, DCT.license, licence))
        known = LICENCES.get(license_id or "")
        if known is not None and (ref, DCT.rights, None) not in self.g:
            statement = BNode()
            self.g.add((ref, DCT.rights, statement))
            self.g.add((statement, RDF.type, DCT.RightsStatement))
            self.g.add((statement, RDFS.label, Literal(known.rights, lang="fr")))

    def _licence_document(self, license_id: str | None) -> URIRef | None:
        uri = licence_uri(license_id)
        if uri is None:
            return None
        licence = URIRef(uri)
        self.g.add((licence, RDF.type, DCT.LicenseDocument))
        registered = model.Package.get_license_register().get(license_id or "")
        if registered is not None:
            # ckanext-dcat matches dct:title with its licence list, udata the rdfs:label.
            self.g.set((licence, DCT.title, Literal(registered.title)))
            self.g.set((licence, RDFS.label, Literal(registered.title)))
        known = LICENCES.get(license_id or "")
        for code in known.types if known else ("UnknownIPR",):
            licence_type = URIRef(ADMS_LICENCE_TYPE + code)
            self.g.add((licence, DCT.type, licence_type))
            self._concept(licence_type, {"en": LICENCE_TYPE_LABELS[code]})
        return licence

    # Catalogue

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None, catalog_ref: Node) -> None:
        g = self.g
        if (catalog_ref, DCT.description, None) not in g:
            g.add(
                (
                    catalog_ref,
                    DCT.description,
                    Literal(tk.config["ckanext.mel.catalog_description"]),
                )
            )
        locale = tk.config.get("ckan.locale_default") or "fr"
        language = URIRef(EU_LANGUAGE + LOCALE_LANGUAGES.get(locale, "FRA"))
        self._replace(catalog_ref, DCT.language, language, DCT.LinguisticSystem)
        for homepage in g.objects(catalog_ref, FOAF.homepage):
            g.add((homepage, RDF.type, FOAF.Document))

        mel = model.Group.by_name(communes.mel_organization_name())
        publisher = URIRef(f"{catalog_uri()}/organization/{mel.id}") if mel else BNode()
        g.add((catalog_ref, DCT.publisher, publisher))
        self._organization(publisher, communes.MEL_TITLE, communes.MEL_SIREN)

        licence = self._licence_document(tk.config["ckanext.mel.catalog_license"])
        if licence is not None:
            g.set((catalog_ref, DCT.license, licence))

        first = _first_publication()
        if first and (catalog_ref, DCT.issued, None) not in g:
            self._add_date_triple(catalog_ref, DCT.issued, first)

        territory = BNode()
        g.add((catalog_ref, DCT.spatial, territory))
        g.add((territory, RDF.type, DCT.Location))
        g.add((territory, SKOS.prefLabel, Literal(communes.MEL_TITLE)))
        self._bbox_and_centroid(territory, mel_territory())

        g.add((catalog_ref, DCAT.themeTaxonomy, DATA_THEMES))
        g.add((DATA_THEMES, RDF.type, SKOS.ConceptScheme))
        g.add((DATA_THEMES, DCT.title, Literal("Data theme", lang="en")))

    # Parsing: a MEL feed back to the portal's fields

    def parse_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> dict[str, Any]:
        if not dataset_dict.get("license_id"):
            # A harvester whose licence list lacks the portal's: the EU URI says which.
            licences = (self._object(d, DCT.license) for d in self._distributions(dataset_ref))
            known = [license_id_for(str(licence)) for licence in licences if licence is not None]
            dataset_dict["license_id"] = next((i for i in known if i), "")
        self._parse_spatial(dataset_ref, dataset_dict)
        for resource in dataset_dict.get("resources", []):
            self._parse_distribution(resource)
        return dataset_dict

    def _parse_spatial(self, dataset_ref: Node, dataset_dict: dict[str, Any]) -> None:
        """The feeds carry boxes, not outlines: the tightest box stands for the geometry."""
        boxes = [
            shape
            for location in self.g.objects(dataset_ref, DCT.spatial)
            for value in self.g.objects(location, DCAT.bbox)
            if (shape := _geometry(value)) is not None
        ]
        coverage = dataset_dict.get("spatial_coverage") or [{}]
        if boxes and not coverage[0].get("geom"):
            coverage[0]["geom"] = shapely.to_geojson(min(boxes, key=lambda box: box.area))
            dataset_dict["spatial_coverage"] = coverage

    def _parse_distribution(self, resource: dict[str, Any]) -> None:
        fmt = resource.get("format") or ""
        if fmt.startswith(vocabularies.EU_FILE_TYPE):
            known = vocabularies.get_format(fmt.rsplit("/", 1)[-1])
            resource["format"] = known.name if known else fmt.rsplit("/", 1)[-1]
        mimetype = resource.get("mimetype") or ""
        if mimetype.startswith(vocabularies.IANA_MEDIA_TYPE):
            resource["mimetype"] = mimetype[len(vocabularies.IANA_MEDIA_TYPE) :]
        conforms_to = resource.get("conforms_to")
        if isinstance(conforms_to, str) and conforms_to.startswith("["):
            values = json.loads(conforms_to)
            resource["conforms_to"] = values[0] if values else None
        distribution = URIRef(resource["uri"]) if resource.get("uri") else None
        licence = self._object(distribution, DCT.license) if distribution else None
        if licence is not None and license_id_for(str(licence)):
            resource["license"] = license_id_for(str(licence))

    # Helpers

    def _replace(self, subject: Node, predicate: URIRef, value: URIRef, rdf_class: URIRef) -> None:
        self.g.remove((subject, predicate, None))
        self.g.add((subject, predicate, value))
        self.g.add((value, RDF.type, rdf_class))

    def _concept(self, concept: Node, labels: dict[str, str], scheme: URIRef | None = None) -> None:
        self.g.add((concept, RDF.type, SKOS.Concept))
        for lang, label in labels.items():
            self.g.add((concept, SKOS.prefLabel, Literal(label, lang=lang)))
        if scheme is not None:
            self.g.add((concept, SKOS.inScheme, scheme))


def _commune_places(organization: model.Group | None) -> dict[str, shapely.Geometry]:
    """The owning commune's INSEE URI and boundary, when known."""
    from ckanext.mel.datasets import commune_uri

    extras = organization.extras if organization is not None else {}
    if not extras.get("insee_code") or not extras.get("boundary"):
        return {}
    return {commune_uri(extras["insee_code"]): shapely.from_geojson(extras["boundary"])}


def _same_box(one: shapely.Geometry, other: shapely.Geometry) -> bool:
    return all(abs(a - b) <= 2 * BBOX_MARGIN for a, b in zip(one.bounds, other.bounds, strict=True))


def _site_url() -> str:
    return tk.config["ckan.site_url"].rstrip("/")


def _geometry(value: Node) -> shapely.Geometry | None:
    """A GeoJSON or WKT literal as a shape, or None."""
    text = str(value)
    try:
        if isinstance(value, Literal) and value.datatype == GSP.wktLiteral:
            return shapely.wkt.loads(text)
        return shapely.from_geojson(text)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None


def _choice_labels(field_name: str) -> dict[str, dict[str, str]]:
    """The labels of a dataset field's choices, from the scheming schema, by value."""
    from ckanext.scheming.helpers import scheming_field_by_name, scheming_get_dataset_schema

    schema = scheming_get_dataset_schema("dataset") or {}
    field = scheming_field_by_name(schema.get("dataset_fields", []), field_name) or {}
    return {
        choice["value"]: choice["label"] if isinstance(choice["label"], dict) else {"fr": choice["label"]}
        for choice in field.get("choices", [])
    }


def _first_publication() -> str | None:
    result = tk.get_action("package_search")(
        {"ignore_auth": True}, {"sort": "metadata_created asc", "rows": 1, "fl": "metadata_created"}
    )
    return result["results"][0]["metadata_created"] if result["results"] else None

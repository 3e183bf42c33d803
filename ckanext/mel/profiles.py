"""The `mel` RDF profile: DCAT-AP as data.gouv.fr and data.europa.eu read it.

It runs after ckanext-dcat's DCAT-AP profile (`euro_dcat_ap_3`, or `euro_dcat_ap_2`
with `euro_dcat_ap_scheming`) and completes or corrects its graph:

- the publisher is the commune as a `foaf:Organization`, identified by its SIREN;
- places carry a bounding-box polygon instead of `locn:geometry`, because
  DCAT-AP 2.1.1 wants that geometry as a literal and DCAT-AP 3 as a node:
  `dcat:bbox` validates under both, and data.gouv.fr keeps it as the coverage
  with a centroid, which DCAT-AP 2.1.1's recommended shapes ask for (udata drops
  that point with a harmless warning);
- distributions get EU file-type and IANA media-type URIs, an EU licence URI that
  data.gouv.fr also recognises (by its label), a rights statement, an availability,
  and a download URL for files, their access URL being the resource's page;
- vocabulary terms are typed and labelled as the SHACL shapes expect.

Parsing maps these back to the portal's fields, so that ckanext-dcat's harvester
gets the licence, formats and data-model link of a MEL feed.

A feed page serialises a hundred datasets into one graph: the organisations are
read once per process and organisation version (feed_cache.py), and the triples
that datasets share (publishers, licences, vocabulary terms) are added once per
graph.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import ckan.plugins.toolkit as tk
import shapely
import shapely.wkt
from ckan import model
from rdflib import BNode, Graph, Literal, URIRef
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
    XSD,
    CleanedURIRef,
    RDFProfile,
)
from ckanext.dcat.utils import catalog_uri, resource_uri
from ckanext.mel import communes, feed_cache, vocabularies
from ckanext.mel.consolidation.dcat import describe_sources
from ckanext.mel.loader.dcat import describe_access_service
from ckanext.mel.vocabularies import (
    ADMS_LICENCE_TYPE,
    EU_AUTHORITY,
    EU_LANGUAGE,
    LICENCE_TYPE_LABELS,
    LICENCES,
    Licence,
    licence_uri,
    license_id_for,
)

DATA_THEMES = URIRef(EU_AUTHORITY + "data-theme")
AVAILABILITY = EU_AUTHORITY + "planned-availability/"
LOCAL_AUTHORITY = URIRef("http://purl.org/adms/publishertype/LocalAuthority")

# The DCAT-AP 2 serialisation, for data.europa.eu: its MQA checks DCAT-AP 2.1.1.
DCAT_AP_2_PROFILES = ["euro_dcat_ap_2", "euro_dcat_ap_scheming", "mel"]

LOCALE_LANGUAGES = {"fr": "FRA", "en": "ENG", "nl": "NLD"}
BBOX_MARGIN = 1e-4  # degrees, about 10 m


UNKNOWN_IPR = URIRef(ADMS_LICENCE_TYPE + "UnknownIPR")


@lru_cache(maxsize=1)
def mel_territory() -> shapely.Geometry:
    """The union of the communes' boundaries, from the shipped reference file."""
    return shapely.union_all([shapely.from_geojson(c.boundary) for c in communes.reference_communes()])


@dataclass(frozen=True)
class Place:
    """A commune's boundary and what the feeds say of it, computed once per process."""

    shape: shapely.Geometry
    bbox: Literal
    centroid: Literal

    @classmethod
    def of(cls, shape: shapely.Geometry) -> Place:
        return cls(shape, _bbox_literal(shape), _centroid_literal(shape))


# ckanext-dcat's profiles made quicker for the feeds (feeds.FeedSerializer), with the same triples


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?")


class _ISODates:
    """CKAN's own timestamps read as ISO 8601, not guessed by dateutil (a fifth of a page's time)."""

    g: Graph

    def _add_date_triple(self, subject: Node, predicate: URIRef, value: Any, _type: Any = Literal) -> None:
        if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
            moment = datetime.fromisoformat(value).isoformat()
            self.g.add((subject, predicate, _type(moment, datatype=XSD.dateTime)))
        else:
            super()._add_date_triple(subject, predicate, value, _type)  # type: ignore[misc]


class _GeometriesAsGiven:
    """Geometries left as GeoJSON: the `mel` profile replaces them with boxes, so ckanext-dcat's
    conversion to WKT (geomet, in Python, for every dataset's commune outline) would be thrown away."""

    g: Graph

    def _add_spatial_value_to_graph(self, spatial_ref: Node, predicate: URIRef, value: Any) -> None:
        if predicate == LOCN.geometry and isinstance(value, str) and value.lstrip().startswith("{"):
            self.g.add((spatial_ref, predicate, Literal(value, datatype=GEOJSON_IMT)))
        else:
            super()._add_spatial_value_to_graph(spatial_ref, predicate, value)  # type: ignore[misc]


def feed_profile_classes(classes: list[type]) -> list[type]:
    """The profiles of a feed's serializer, with the speed-ups above (geometries only before `mel`)."""
    with_mel = any(issubclass(cls, MelProfile) for cls in classes)
    return [_quicker(cls, with_mel) for cls in classes]


@lru_cache(maxsize=64)
def _quicker(cls: type, with_mel: bool) -> type:
    if issubclass(cls, MelProfile) or not issubclass(cls, RDFProfile):
        return cls
    mixins: tuple[type, ...] = (_ISODates, _GeometriesAsGiven) if with_mel else (_ISODates,)
    return type(cls.__name__, (*mixins, cls), {"__module__": cls.__module__, "__doc__": cls.__doc__})


@lru_cache(maxsize=1)
def _territory_place() -> Place:
    return Place.of(mel_territory())


@dataclass(frozen=True)
class Publisher:
    """What the feeds say of an organisation: its name, SIREN and, for a commune, its place."""

    title: str
    siren: str | None
    places: dict[str, Place]  # by the commune's INSEE URI


_publishers_lock = threading.Lock()
_publishers: dict[str, Any] = {"version": None, "by_id": {}}


def publisher(organization_id: str, version: int) -> Publisher | None:
    """The organisation as published, read once per process and organisation version."""
    with _publishers_lock:
        by_id = _publishers_at(version)
        if organization_id not in by_id:
            organization = model.Group.get(organization_id)
            by_id[organization_id] = _publisher(organization) if organization is not None else None
        return by_id[organization_id]


def _publishers_at(version: int) -> dict[str, Publisher | None]:
    """Every active organisation as published at this version (call with the lock held)."""
    if _publishers["version"] != version:
        _publishers.update(version=version, by_id=_load_publishers())
    return _publishers["by_id"]


def warm_up(version: int) -> None:
    """What the feeds compute once per process: the organisations and the MEL's territory."""
    with _publishers_lock:
        _publishers_at(version)
    _territory_place()


def _load_publishers() -> dict[str, Publisher | None]:
    organizations = model.Session.query(model.Group).filter(
        model.Group.is_organization.is_(True), model.Group.state == "active"
    )
    return {organization.id: _publisher(organization) for organization in organizations}


def _publisher(organization: model.Group) -> Publisher:
    from ckanext.mel.communes import commune_uri

    extras = organization.extras or {}
    places = {}
    if extras.get("insee_code") and extras.get("boundary"):
        boundary = _geometry(Literal(extras["boundary"]))
        if boundary is not None:
            places[commune_uri(extras["insee_code"])] = Place.of(boundary)
    return Publisher(organization.title, extras.get("siren") or None, places)


@dataclass
class _GraphMemo:
    """What one graph already holds, so that datasets of a page share it."""

    version: int
    done: set[Any] = field(default_factory=set)
    rights: dict[str, BNode] = field(default_factory=dict)


_memos: weakref.WeakKeyDictionary[Graph, _GraphMemo] = weakref.WeakKeyDictionary()


class MelProfile(RDFProfile):
    # Datasets

    @property
    def memo(self) -> _GraphMemo:
        memo = _memos.get(self.g)
        if memo is None:
            memo = _memos[self.g] = _GraphMemo(feed_cache.organisations_version())
        return memo

    def _first_time(self, *what: Any) -> bool:
        """True the first time a shared node is met in this graph."""
        if what in self.memo.done:
            return False
        self.memo.done.add(what)
        return True

    def graph_from_dataset(self, dataset_dict: dict[str, Any], dataset_ref: Node) -> None:
        owner = dataset_dict.get("owner_org")
        published_by = publisher(owner, self.memo.version) if owner else None
        if published_by is not None:
            # The search index keeps the organisation's title of the dataset's last indexing.
            indexed = (dataset_dict.get("organization") or {}).get("title")
            for agent in self.g.objects(dataset_ref, DCT.publisher):
                if self._first_time("publisher", agent):
                    if indexed and (agent, FOAF.name, Literal(indexed)) in self.g:
                        self.g.set((agent, FOAF.name, Literal(published_by.title)))
                    self._organization(agent, published_by.title, published_by.siren)
        self._landing_page(dataset_ref, dataset_dict)
        self._themes(dataset_ref)
        places = published_by.places if published_by is not None else {}
        for location in list(self.g.objects(dataset_ref, DCT.spatial)):
            self._location(dataset_ref, location, places)
        for resource in dataset_dict.get("resources", []):
            distribution = CleanedURIRef(resource_uri(resource))
            self._distribution(distribution, resource, dataset_dict)
            describe_access_service(self.g, distribution, resource, dataset_ref)
        describe_sources(self.g, dataset_ref, dataset_dict)  # a metropolitan dataset's sources

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
            if str(theme) in labels and self._first_time("theme", theme):
                self._concept(theme, labels[str(theme)], scheme=DATA_THEMES)

    def _location(self, dataset_ref: Node, location: Node, places: dict[str, Place]) -> None:
        """A bounding box in place of the geometries (see the module's doc).

        A commune's URI is shared by the datasets of a feed page: it carries the
        commune's own box, and a dataset covering only part of the commune gets a
        place of its own for that part.
        """
        self.g.add((location, RDF.type, DCT.Location))
        # A set: the `spatial` field and the spatial coverage usually give the same geometry.
        values = set(self.g.objects(location, LOCN.geometry))
        shapes = [s for v in values if (s := _geometry(v)) is not None]
        self.g.remove((location, LOCN.geometry, None))
        self.g.remove((location, DCAT.centroid, None))
        area = shapely.union_all(shapes) if len(shapes) > 1 else next(iter(shapes), None)
        commune = places.get(str(location))
        if commune is None:
            if area is not None:
                self._bbox(location, area)
            return
        if self._first_time("place", location) and (location, DCAT.bbox, None) not in self.g:
            self.g.add((location, DCAT.bbox, commune.bbox))
        # ckanext-dcat's centroid, if any, was removed above: the commune's stands.
        self.g.add((location, DCAT.centroid, commune.centroid))
        if area is not None and not _same_box(area, commune.shape):
            part = BNode()
            self.g.add((dataset_ref, DCT.spatial, part))
            self.g.add((part, RDF.type, DCT.Location))
            self._bbox(part, area)

    def _bbox(self, location: Node, shape: shapely.Geometry) -> None:
        if (location, DCAT.bbox, None) not in self.g:
            self.g.add((location, DCAT.bbox, _bbox_literal(shape)))
        if (location, DCAT.centroid, None) not in self.g:
            # DCAT-AP 2.1.1's recommended shapes ask for it (a warning per place without one).
            self.g.add((location, DCAT.centroid, _centroid_literal(shape)))

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
            if self._first_time("availability", code):
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
        for old in list(self.g.objects(ref, DCT.license)):
            if old != licence:
                self.g.remove((old, DCT.type, UNKNOWN_IPR))
        self.g.remove((ref, DCT.license, None))
        self.g.add((ref, DCT.license, licence))
        known = LICENCES.get(license_id or "")
        if known is not None and (ref, DCT.rights, None) not in self.g:
            self.g.add((ref, DCT.rights, self._rights_statement(known)))

    def _rights_statement(self, licence: Licence) -> BNode:
        """One statement per licence and graph, that the distributions under it share."""
        statement = self.memo.rights.get(licence.eu_code)
        if statement is None:
            statement = self.memo.rights[licence.eu_code] = BNode()
            self.g.add((statement, RDF.type, DCT.RightsStatement))
            self.g.add((statement, RDFS.label, Literal(licence.rights, lang="fr")))
        return statement

    def _licence_document(self, license_id: str | None) -> URIRef | None:
        uri = licence_uri(license_id)
        if uri is None:
            return None
        licence = URIRef(uri)
        if not self._first_time("licence", license_id):
            return licence
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
        place = _territory_place()
        g.add((territory, DCAT.bbox, place.bbox))
        g.add((territory, DCAT.centroid, place.centroid))

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
        if self._first_time("typed", value, rdf_class):
            self.g.add((value, RDF.type, rdf_class))

    def _concept(self, concept: Node, labels: dict[str, str], scheme: URIRef | None = None) -> None:
        self.g.add((concept, RDF.type, SKOS.Concept))
        for lang, label in labels.items():
            self.g.add((concept, SKOS.prefLabel, Literal(label, lang=lang)))
        if scheme is not None:
            self.g.add((concept, SKOS.inScheme, scheme))


def _centroid_literal(shape: shapely.Geometry) -> Literal:
    centroid = shapely.wkt.dumps(shapely.centroid(shape), rounding_precision=6)
    return Literal(centroid, datatype=GSP.wktLiteral)


def _bbox_literal(shape: shapely.Geometry) -> Literal:
    # ckanext-dcat rounds WKT to 4 decimals: widen the box by as much to keep the area in.
    west, south, east, north = shape.bounds
    box = shapely.box(west - BBOX_MARGIN, south - BBOX_MARGIN, east + BBOX_MARGIN, north + BBOX_MARGIN)
    return Literal(shapely.to_geojson(box), datatype=GEOJSON_IMT)


def _same_box(one: shapely.Geometry, other: shapely.Geometry) -> bool:
    return all(abs(a - b) <= 2 * BBOX_MARGIN for a, b in zip(one.bounds, other.bounds, strict=True))


def _site_url() -> str:
    return tk.config["ckan.site_url"].rstrip("/")


def _geometry(value: Node) -> shapely.Geometry | None:
    """A GeoJSON or WKT literal as a shape, or None."""
    is_wkt = isinstance(value, Literal) and value.datatype == GSP.wktLiteral
    return _parse_geometry(str(value), is_wkt)


@lru_cache(maxsize=4096)
def _parse_geometry(text: str, is_wkt: bool) -> shapely.Geometry | None:
    # Shapes are immutable: the datasets of a commune share its parsed boundary.
    try:
        return shapely.wkt.loads(text) if is_wkt else shapely.from_geojson(text)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None


@lru_cache(maxsize=8)
def _choice_labels(field_name: str) -> dict[str, dict[str, str]]:
    """The labels of a dataset field's choices, from the scheming schema (loaded once), by value."""
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

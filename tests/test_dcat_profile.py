"""The `mel` RDF profile: what a dataset of a commune looks like in the feeds.

Each test reads one thing a harvester needs in the graph that /dataset/<id>.ttl
serves (DCAT-AP 3), the DCAT-AP 2 serialisation where it differs.
"""

from __future__ import annotations

import json

import pytest
import shapely
from ckan.tests import factories
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, SKOS, XSD

from tests.dcat_data import (
    EU,
    PRENOMS_SCHEMA,
    complete_dataset,
    complete_fields,
    dataset_graph,
    dcat_ap_2_graph,
    get_graph,
    lille_boundary,
)

DCATAP = "http://data.europa.eu/r5r/"
LOCN_GEOMETRY = URIRef("http://www.w3.org/ns/locn#geometry")
GEOJSON = URIRef("https://www.iana.org/assignments/media-types/application/vnd.geo+json")


@pytest.fixture
def lille(commune_factory):
    return commune_factory(
        name="lille",
        title="Lille",
        insee_code="59350",
        siren="215903501",
        boundary=lille_boundary(),
    )


@pytest.fixture
def dataset(lille, create_with_upload):
    return complete_dataset(lille, create_with_upload)


def _one(graph, subject, predicate):
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{predicate}: {values}"
    return values[0]


def _refs(dataset):
    ref = URIRef(f"http://test.ckan.net/dataset/{dataset['id']}")
    resources = [URIRef(f"{ref}/resource/{r['id']}") for r in dataset["resources"]]
    return ref, resources[0] if resources else None


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestDataset:
    def test_the_publisher_is_the_commune_with_its_siren(self, dataset, lille):
        g = dataset_graph(dataset)
        publisher = _one(g, _refs(dataset)[0], DCTERMS.publisher)
        assert publisher == URIRef(f"http://test.ckan.net/organization/{lille['id']}")
        assert {FOAF.Organization, FOAF.Agent} <= set(g.objects(publisher, RDF.type))
        assert _one(g, publisher, FOAF.name) == Literal("Lille")
        assert _one(g, publisher, DCTERMS.identifier) == Literal("215903501")
        assert _one(g, publisher, DCTERMS.type) == URIRef("http://purl.org/adms/publishertype/LocalAuthority")

    def test_the_spatial_coverage_is_the_insee_uri_with_a_polygon(self, dataset):
        g = dataset_graph(dataset)
        place = _one(g, _refs(dataset)[0], DCTERMS.spatial)
        assert place == URIRef("http://id.insee.fr/geo/commune/59350")
        assert (place, RDF.type, DCTERMS.Location) in g
        assert _one(g, place, SKOS.prefLabel) == Literal("Lille")
        bbox = _one(g, place, DCAT.bbox)
        assert bbox.datatype == GEOJSON
        polygon = shapely.from_geojson(str(bbox))
        boundary = shapely.from_geojson(lille_boundary())
        assert polygon.geom_type == "Polygon"
        assert polygon.contains(boundary)
        assert polygon.bounds == pytest.approx(boundary.bounds, abs=2e-4)  # the commune's box
        # Kept: DCAT-AP 2.1.1's recommended shapes ask for it (data.gouv.fr drops it, harmlessly).
        centroid = shapely.from_wkt(str(_one(g, place, DCAT.centroid)))
        assert centroid.geom_type == "Point" and polygon.contains(centroid)
        # DCAT-AP 2.1.1 wants locn:geometry as a literal, DCAT-AP 3 as a node: neither.
        assert (place, LOCN_GEOMETRY, None) not in g

    def test_an_area_drawn_by_the_agent_replaces_the_commune(self, lille):
        area = {
            "type": "Polygon",
            "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.65], [3.0, 50.6]]],
        }
        dataset = factories.Dataset(
            owner_org=lille["id"],
            **complete_fields(spatial_coverage=[{"text": "Bois de Boulogne", "geom": json.dumps(area)}]),
        )
        g = dataset_graph(dataset)
        place = _one(g, _refs(dataset)[0], DCTERMS.spatial)
        assert _one(g, place, SKOS.prefLabel) == Literal("Bois de Boulogne")
        bounds = shapely.from_geojson(str(_one(g, place, DCAT.bbox))).bounds
        assert bounds == pytest.approx((3.0, 50.6, 3.1, 50.65), abs=2e-4)

    def test_datasets_covering_part_of_their_commune_on_one_feed_page(self, app, lille):
        """The commune's URI keeps the commune's box; each dataset's part gets its own place."""
        parts = [(3.02, 50.62, 3.05, 50.64), (3.06, 50.61, 3.09, 50.63)]
        datasets = []
        for part in parts:
            geom = shapely.to_geojson(shapely.box(*part))
            coverage = [{"uri": "http://id.insee.fr/geo/commune/59350", "text": "Lille", "geom": geom}]
            datasets.append(
                factories.Dataset(owner_org=lille["id"], **complete_fields(spatial_coverage=coverage))
            )
        g = get_graph(app, "/catalog.ttl")
        commune = URIRef("http://id.insee.fr/geo/commune/59350")
        boundary = shapely.from_geojson(lille_boundary())
        assert shapely.from_geojson(str(_one(g, commune, DCAT.bbox))).bounds == pytest.approx(
            boundary.bounds, abs=2e-4
        )
        for dataset, part in zip(datasets, parts, strict=True):
            places = set(g.objects(_refs(dataset)[0], DCTERMS.spatial))
            assert commune in places
            [own] = places - {commune}
            assert shapely.from_geojson(str(_one(g, own, DCAT.bbox))).bounds == pytest.approx(part, abs=2e-4)

    def test_vocabularies_identifier_landing_page_contact_and_dates(self, dataset):
        g = dataset_graph(dataset)
        ref = _refs(dataset)[0]
        assert _one(g, ref, DCTERMS.identifier) == Literal(dataset["id"])
        landing = _one(g, ref, DCAT.landingPage)
        assert landing == URIRef(f"http://test.ckan.net/dataset/{dataset['name']}")
        assert (landing, RDF.type, FOAF.Document) in g
        theme = _one(g, ref, DCAT.theme)
        assert theme == URIRef(EU + "data-theme/SOCI")
        assert Literal("Population et société", lang="fr") in set(g.objects(theme, SKOS.prefLabel))
        assert _one(g, ref, DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/ANNUAL")
        assert _one(g, ref, DCTERMS.language) == URIRef(EU + "language/FRA")
        assert _one(g, ref, DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
        assert {str(k) for k in g.objects(ref, DCAT.keyword)} == {
            "prénoms",
            "naissances",
            "état civil",
        }
        contact = _one(g, ref, DCAT.contactPoint)
        vcard = "http://www.w3.org/2006/vcard/ns#"
        assert _one(g, contact, URIRef(vcard + "hasEmail")) == URIRef("mailto:etat-civil@example.org")
        assert _one(g, contact, URIRef(vcard + "fn")) == Literal("Service état civil")
        assert _one(g, ref, DCTERMS.issued) == Literal("2024-02-01", datatype=XSD.date)
        assert _one(g, ref, DCTERMS.modified) == Literal("2025-01-15", datatype=XSD.date)
        period = _one(g, ref, DCTERMS.temporal)
        assert _one(g, period, DCAT.startDate) == Literal("2020-01-01", datatype=XSD.date)
        assert _one(g, period, DCAT.endDate) == Literal("2024-12-31", datatype=XSD.date)


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestDistribution:
    def test_conforms_to_the_exact_schema_data_gouv_fr_url(self, dataset):
        g = dataset_graph(dataset)
        standard = _one(g, _refs(dataset)[1], DCTERMS.conformsTo)
        assert standard == URIRef(PRENOMS_SCHEMA)
        assert (standard, RDF.type, DCTERMS.Standard) in g

    def test_a_mel_model_is_identified_by_its_url_on_the_portal(self, lille, create_with_upload):
        dataset = complete_dataset(lille, create_with_upload, data_model="mel-naissances")
        standard = _one(dataset_graph(dataset), _refs(dataset)[1], DCTERMS.conformsTo)
        assert standard == URIRef("http://test.ckan.net/data-models/mel-naissances/schema.json")

    def test_the_licence_is_the_eu_uri_labelled_as_data_gouv_fr_names_it(self, dataset):
        g = dataset_graph(dataset)
        licence = _one(g, _refs(dataset)[1], DCTERMS.license)
        assert licence == URIRef(EU + "licence/ETALAB_2_0")
        assert (licence, RDF.type, DCTERMS.LicenseDocument) in g
        assert _one(g, licence, RDFS.label) == Literal("Licence Ouverte / Open Licence version 2.0")
        assert _one(g, licence, DCTERMS.type) == URIRef("http://purl.org/adms/licencetype/Attribution")
        rights = _one(g, _refs(dataset)[1], DCTERMS.rights)
        assert (rights, RDF.type, DCTERMS.RightsStatement) in g
        assert "mentionner la source" in str(_one(g, rights, RDFS.label))

    def test_odbl(self, lille, create_with_upload):
        dataset = complete_dataset(lille, create_with_upload, license_id="odc-odbl")
        g = dataset_graph(dataset)
        licence = _one(g, _refs(dataset)[1], DCTERMS.license)
        assert licence == URIRef(EU + "licence/ODC_BL")
        assert _one(g, licence, RDFS.label) == Literal("Open Data Commons Open Database License (ODbL)")
        assert len(set(g.objects(licence, DCTERMS.type))) == 2

    def test_an_uploaded_file(self, dataset):
        g = dataset_graph(dataset)
        distribution = _refs(dataset)[1]
        resource = dataset["resources"][0]
        assert _one(g, distribution, DCAT.downloadURL) == URIRef(resource["url"])
        assert _one(g, distribution, DCAT.accessURL) == distribution  # the file's page
        assert _one(g, distribution, DCTERMS["format"]) == URIRef(EU + "file-type/CSV")
        assert _one(g, distribution, DCAT.mediaType) == URIRef(
            "https://www.iana.org/assignments/media-types/text/csv"
        )
        assert _one(g, distribution, DCAT.byteSize) == Literal(
            resource["size"], datatype=XSD.nonNegativeInteger
        )
        assert _one(g, distribution, URIRef(DCATAP + "availability")) == URIRef(
            EU + "planned-availability/STABLE"
        )
        assert _one(g, distribution, DCTERMS.title) == Literal("Prénoms 2024")

    def test_dcat_ap_2_keeps_the_byte_size_decimal(self, dataset):
        size = _one(dcat_ap_2_graph(dataset), _refs(dataset)[1], DCAT.byteSize)
        assert size.datatype == XSD.decimal

    def test_a_link_to_a_file_elsewhere(self, lille):
        url = "https://www.example.org/open-data/prenoms.csv"
        dataset = factories.Dataset(
            owner_org=lille["id"],
            resources=[{"url": url, "format": "CSV", "name": "Prénoms"}],
            **complete_fields(),
        )
        g = dataset_graph(dataset)
        distribution = _refs(dataset)[1]
        assert _one(g, distribution, DCAT.downloadURL) == URIRef(url)
        assert _one(g, distribution, DCAT.accessURL) == distribution
        assert _one(g, distribution, URIRef(DCATAP + "availability")) == URIRef(
            EU + "planned-availability/AVAILABLE"
        )
        # DCAT-AP recommends a description: without one, the profile says what the file is.
        assert _one(g, distribution, DCTERMS.description) == Literal("Prénoms — Prénoms des nouveaux-nés")

    def test_a_link_to_a_web_page_is_an_access_url_only(self, lille):
        url = "https://www.example.org/nos-donnees"
        dataset = factories.Dataset(
            owner_org=lille["id"], resources=[{"url": url, "format": "HTML"}], **complete_fields()
        )
        g = dataset_graph(dataset)
        distribution = _refs(dataset)[1]
        assert _one(g, distribution, DCAT.accessURL) == URIRef(url)
        assert (distribution, DCAT.downloadURL, None) not in g


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_the_catalogue(app, mel_organization, commune):
    factories.Dataset(owner_org=commune["id"])
    g = Graph().parse(data=app.get("/catalog.ttl").body, format="turtle")
    catalogue = URIRef("http://test.ckan.net")
    publisher = _one(g, catalogue, DCTERMS.publisher)
    assert publisher == URIRef(f"http://test.ckan.net/organization/{mel_organization['id']}")
    assert _one(g, publisher, DCTERMS.identifier) == Literal("200093201")
    assert _one(g, catalogue, DCTERMS.language) == URIRef(EU + "language/FRA")
    assert _one(g, catalogue, DCTERMS.license) == URIRef(EU + "licence/ETALAB_2_0")
    assert _one(g, catalogue, DCAT.themeTaxonomy) == URIRef(EU + "data-theme")
    territory = _one(g, catalogue, DCTERMS.spatial)
    assert _one(g, territory, SKOS.prefLabel) == Literal("Métropole Européenne de Lille")
    west, south, east, north = shapely.from_geojson(str(_one(g, territory, DCAT.bbox))).bounds
    assert 2.7 < west < east < 3.4 and 50.4 < south < north < 50.9  # Lille's metropolis
    assert (catalogue, DCTERMS.issued, None) in g


def test_every_licence_of_the_portal_says_how_it_is_published_and_no_other():
    """One registry (vocabularies.py): licenses.json's ids, each with its EU table entry."""
    from ckanext.mel import vocabularies

    assert set(vocabularies.LICENCES) == vocabularies.license_ids()
    for license_id, licence in vocabularies.LICENCES.items():
        assert vocabularies.license_id_for(licence.uri) == license_id

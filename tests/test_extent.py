"""The dataset's spatial extent: the box around a valid file's points, else the
commune's boundary; refreshed by the portal itself, found by a bbox search."""

import json

import pytest
import sqlalchemy.exc
from ckan import model
from ckan.lib import jobs
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel import extent, validation
from ckanext.mel.loader.state import DatastoreLoad

# Armentières, as a square that is much larger than its schools' area.
BOUNDARY = {
    "type": "Polygon",
    "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.91, 50.71], [2.85, 50.71], [2.85, 50.67]]],
}
ECOLES = (
    "COLL_INSEE;COLL_NOM;ECOLE_UAI;ECOLE_NOM;ECOLE_TYPE;ECOLE_SECTEUR;ADR_NUMERO;ADR_VOIE;"
    "ADR_CODEPOSTAL;ECOLE_EFFECTIF;LATITUDE;LONGITUDE\n"
    "59017;Armentières;0590101A;École Jean Jaurès;maternelle;public;4;rue Jean Jaurès;59280;96;"
    "50.6879;2.8812\n"
    "59017;Armentières;0590103C;École Pasteur;primaire;public;21;rue de Lille;59280;212;"
    "50.6842;2.8911\n"
)
NEAR_THE_SCHOOLS = "2.885,50.680,2.895,50.690"
IN_THE_COMMUNE_AWAY_FROM_THE_SCHOOLS = "2.852,50.700,2.860,50.709"
ELSEWHERE = "2.0,48.0,2.5,48.5"


@pytest.fixture
def armentieres(commune_factory):
    return commune_factory(
        name="armentieres", title="Armentières", insee_code="59017", boundary=json.dumps(BOUNDARY)
    )


@pytest.fixture
def ecoles(sysadmin, armentieres):
    return call_action(
        "package_create",
        context={"user": sysadmin["name"]},
        name="localisation-des-ecoles",
        title="Localisation des écoles",
        notes="Test.",
        owner_org=armentieres["id"],
        data_model="mel-ecoles",
    )


def found(bbox):
    result = call_action("package_search", extras={"ext_bbox": bbox})
    return [d["name"] for d in result["results"]]


def checks_queued():
    return [job for job in jobs.get_queue().jobs if job.func_name.startswith("ckanext.mel.validation")]


def upload(create_with_upload, dataset, content, user):
    return create_with_upload(
        content.encode("utf-8"),
        "ecoles.csv",
        package_id=dataset["id"],
        context={"user": user["name"]},
    )


def test_the_box_around_points_is_a_polygon_with_an_area_even_for_one_point():
    polygon = extent.bbox_polygon([3.0, 50.6, 3.0, 50.6])
    (west, south), _, (east, north) = polygon["coordinates"][0][:3]
    assert polygon["type"] == "Polygon"
    assert east > west and north > south
    assert extent.union([[1, 2, 3, 4], [0, 3, 2, 5]]) == [0, 2, 3, 5]


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestExtent:
    def test_a_valid_file_with_places_gives_the_dataset_the_box_of_its_points(
        self, create_with_upload, ecoles, sysadmin
    ):
        assert ecoles["name"] in found(IN_THE_COMMUNE_AWAY_FROM_THE_SCHOOLS)

        upload(create_with_upload, ecoles, ECOLES, sysadmin)

        coverage = call_action("package_show", id=ecoles["id"])["spatial_coverage"]
        assert coverage[0]["uri"] == "http://id.insee.fr/geo/commune/59017"
        assert coverage[0]["text"] == "Armentières"
        ring = json.loads(coverage[0]["geom"])["coordinates"][0]
        assert (min(x for x, _ in ring), max(x for x, _ in ring)) == (2.8812, 2.8911)
        assert (min(y for _, y in ring), max(y for _, y in ring)) == (50.6842, 50.6879)
        assert found(NEAR_THE_SCHOOLS) == [ecoles["name"]]
        assert found(IN_THE_COMMUNE_AWAY_FROM_THE_SCHOOLS) == []
        assert found(ELSEWHERE) == []

    def test_an_invalid_file_leaves_the_communes_boundary(self, create_with_upload, ecoles, sysadmin):
        upload(create_with_upload, ecoles, ECOLES.replace("50.6879", "nord"), sysadmin)

        coverage = call_action("package_show", id=ecoles["id"])["spatial_coverage"]
        assert json.loads(coverage[0]["geom"]) == BOUNDARY
        assert ecoles["name"] in found(IN_THE_COMMUNE_AWAY_FROM_THE_SCHOOLS)

    def test_deleting_the_file_brings_back_the_boundary(self, create_with_upload, ecoles, sysadmin):
        resource = upload(create_with_upload, ecoles, ECOLES, sysadmin)
        call_action("resource_delete", context={"user": sysadmin["name"]}, id=resource["id"])

        coverage = call_action("package_show", id=ecoles["id"])["spatial_coverage"]
        assert json.loads(coverage[0]["geom"]) == BOUNDARY

    def test_refreshing_the_extent_starts_no_new_check(self, create_with_upload, ecoles, sysadmin):
        resource = upload(create_with_upload, ecoles, ECOLES, sysadmin)
        checked = validation.show(resource["id"])["finished"]

        coverage = call_action("package_show", id=ecoles["id"])["spatial_coverage"]
        assert json.loads(coverage[0]["geom"]) != BOUNDARY  # the refresh happened
        assert checks_queued() == []  # (other jobs, the DataStore load, may follow a check)
        assert validation.show(resource["id"])["finished"] == checked

    def test_a_refresh_that_fails_halfway_is_undone_alone_and_the_check_is_kept(
        self, create_with_upload, ecoles, sysadmin, monkeypatch
    ):
        # The report, the extent and the table's load are committed together: a failure while
        # writing the extent must take back its own half-written change, and nothing else.
        def fails_halfway(package, coverage):
            package.extras["spatial_coverage"] = "half-written"
            model.Session.flush()
            raise sqlalchemy.exc.OperationalError("UPDATE package_extra", {}, Exception("server gone"))

        monkeypatch.setattr(extent, "write_coverage", fails_halfway)

        resource = upload(create_with_upload, ecoles, ECOLES, sysadmin)

        model.Session.remove()  # what the next request reads: what was committed
        assert validation.show(resource["id"])["status"] == "valid"
        assert DatastoreLoad.get(resource["id"]).status == "pending"
        assert [job.func_name for job in jobs.get_queue().jobs] == ["ckanext.mel.loader.jobs.load_job"]
        stored = model.Package.get(ecoles["id"]).extras["spatial_coverage"]
        assert json.loads(json.loads(stored)[0]["geom"]) == BOUNDARY

    @pytest.mark.usefixtures("with_test_worker")
    @pytest.mark.ckan_config("ckanext.mel.validation.sync_max_size", 10)
    def test_the_portal_refreshes_a_dataset_its_commune_may_no_longer_change(
        self, create_with_upload, armentieres, ecoles, sysadmin, mel_staff
    ):
        agent = factories.User()
        call_action(
            "organization_member_create",
            id=armentieres["id"],
            username=agent["name"],
            role="editor",
        )
        call_action("mel_enrolment_create", organization=armentieres["id"])
        upload(create_with_upload, ecoles, ECOLES, agent)
        for n in range(4):  # the commune reaches its quota
            factories.Dataset(owner_org=armentieres["id"], name=f"autre-{n}")
        call_action("mel_enrolment_end", context={"user": mel_staff["name"]}, organization=armentieres["id"])

        jobs.Worker().work(burst=True)

        assert (
            validation.show(validation.ValidationReport.for_package(ecoles["id"])[0].resource_id)["status"]
            == "valid"
        )
        assert ecoles["name"] in found(NEAR_THE_SCHOOLS)
        assert ecoles["name"] not in found(IN_THE_COMMUNE_AWAY_FROM_THE_SCHOOLS)


# A triangle whose long side runs from (2.91, 50.67) to (2.85, 50.71), and two boxes of
# about 70 m: one just outside that side (inside the triangle's bounding box), one across it.
TRIANGLE = {
    "type": "Polygon",
    "coordinates": [[[2.85, 50.67], [2.91, 50.67], [2.85, 50.71], [2.85, 50.67]]],
}
JUST_OUTSIDE_THE_LONG_SIDE = "2.8805,50.6905,2.8815,50.6915"
ACROSS_THE_LONG_SIDE = "2.8795,50.6895,2.8805,50.6905"


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_a_map_search_finds_a_commune_only_when_its_boundary_meets_the_box(sysadmin, commune_factory):
    # Solr keeps each boundary (spatial_shape): a grid of cells alone, at 5 % of the shape's
    # size, would take the box just outside as part of the commune.
    commune = commune_factory(
        name="triangle", title="Triangle", insee_code="59999", boundary=json.dumps(TRIANGLE)
    )
    dataset = call_action(
        "package_create",
        context={"user": sysadmin["name"]},
        name="triangle-ecoles",
        title="Écoles",
        notes="Test.",
        owner_org=commune["id"],
    )

    assert found(ACROSS_THE_LONG_SIDE) == [dataset["name"]]
    assert found(JUST_OUTSIDE_THE_LONG_SIDE) == []

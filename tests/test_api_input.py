"""Malformed input gets a 4xx with a message, never a 500 (issue #11, points 6 and 7).

The cases the issue found first, then Hypothesis over every mel_* action's
arguments, over HTTP as a client sends them, then a GET of every read action.
"""

import json
import math

import pytest
from ckan import model
from ckan.logic import get_action
from ckan.tests import factories
from ckan.tests.helpers import call_action
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import api_token

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")


@pytest.fixture
def sysadmin_headers():
    return {"Authorization": api_token(factories.Sysadmin()["name"])}


def _post(app, action, payload, headers=None):
    return app.post(f"/api/3/action/{action}", json=payload, headers=headers or {})


def _error(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:500])
    body = response.json
    assert body["success"] is False
    return body["error"]


# The cases of the issue. Each test goes through its cases in a loop: one clean
# database per test keeps the file fast.

NUL_ACTIONS = [
    "mel_enrolment_show",
    "mel_enrolment_create",
    "mel_quota_show",
    "mel_validation_show",
    "mel_quality_show",
]


def test_a_nul_character_is_refused_with_a_message(app, sysadmin_headers):
    for action in NUL_ACTIONS:
        error = _error(
            _post(app, action, {"organization": "lil\u0000le", "id": "a\u0000b"}, sysadmin_headers)
        )
        assert "NUL" in json.dumps(error), action


def test_a_quota_out_of_range_is_refused_and_nothing_is_granted(app, sysadmin_headers, commune):
    for maximum in (2147483648, 10**20, -1, "beaucoup", 1.5, [5], None):
        payload = {"organization": commune["id"], "maximum": maximum}
        error = _error(_post(app, "mel_quota_set", payload, sysadmin_headers))
        assert "maximum" in error, maximum
    assert call_action("mel_quota_show", organization=commune["id"])["maximum"] == 5


def test_an_extension_out_of_range_is_refused(app, sysadmin_headers, commune):
    call_action("mel_enrolment_create", organization=commune["id"])
    before = call_action("mel_enrolment_show", organization=commune["id"])["end_date"]
    for months in (10**20, 99999999999, 0, "x", [1]):
        payload = {"organization": commune["id"], "months": months}
        error = _error(_post(app, "mel_enrolment_extend", payload, sysadmin_headers))
        assert "months" in error, months
    for until in ("99999-01-01", ["2030-01-01"], "demain"):
        payload = {"organization": commune["id"], "until": until}
        error = _error(_post(app, "mel_enrolment_extend", payload, sysadmin_headers))
        assert "until" in error, until
    assert call_action("mel_enrolment_show", organization=commune["id"])["end_date"] == before


def test_an_enrolment_date_out_of_the_calendar_is_refused_and_nothing_is_enrolled(
    app, sysadmin_headers, commune
):
    # 2147483648 read as a year overflowed 2.11's date parsing, and 2.11 refused [{}, inf] before any
    # validator (a list mixing objects and values): both 500s found by the fuzz test below.
    for start in (
        2147483648,
        "2147483648",
        "99999-01-01",
        "2026-13-01",
        "demain",
        ["2026-01-01"],
        [{}, math.inf],
    ):
        payload = {"organization": commune["id"], "start_date": start}
        error = _error(_post(app, "mel_enrolment_create", payload, sysadmin_headers))
        assert "start_date" in error, start
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "not_enrolled"


def test_include_history_must_be_true_or_false(app, commune):
    for value in (["true"], 1, 0, 2.5, {"a": 1}, "peut-être"):
        payload = {"organization": commune["id"], "include_history": value}
        error = _error(_post(app, "mel_enrolment_show", payload))
        # "Indiquez true ou false (vrai ou faux).": the interface is French.
        assert "true" in error["include_history"][0] and "false" in error["include_history"][0], value


def test_include_history_from_a_query_string(app, commune):
    response = app.get(
        f"/api/3/action/mel_enrolment_show?organization={commune['name']}&include_history=true"
    )
    assert response.status_code == 200 and response.json["result"]["history"] == []


def test_package_create_with_a_field_of_the_wrong_type(app, sysadmin_headers, commune):
    cases = [("private", [True]), ("private", {"a": 1}), ("owner_org", ["x"]), ("owner_org", {"id": "x"})]
    for field, value in [*cases, ("owner_org", 5), ("name", ["x"])]:
        payload = {
            "name": "mauvais-type",
            "title": "Mauvais type",
            "notes": "Test",
            "owner_org": commune["id"],
        }
        error = _error(_post(app, "package_create", {**payload, field: value}, sysadmin_headers))
        assert field in error, (field, value)
    assert model.Package.get("mauvais-type") is None


INVALID_GEOMETRIES = [
    '{"type": "Point", "coordinates": [1e400, "a"]}',
    {"type": "Point", "coordinates": [1e400, "a"]},
    {"type": "Polygon", "coordinates": [[[3.0, 50.6], [3.1, 50.6]]]},
    {"type": "Polygon", "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.7], [3.2, 50.8]]]},
    {"type": "LineString", "coordinates": [[3.0, 50.6]]},
    {"type": "Point", "coordinates": [300, 50]},
    {"type": "Point", "coordinates": [True, False]},
    {"type": "MultiPolygon", "coordinates": [[[[3.0, 50.6]]]]},
    {"type": "MultiPoint", "coordinates": []},
    "[" * 5000,
]


def test_an_invalid_spatial_coverage_is_refused_before_it_is_written(app, sysadmin_headers, commune):
    call_action("mel_enrolment_create", organization=commune["id"])
    for geometry in INVALID_GEOMETRIES:
        geom = geometry if isinstance(geometry, str) else json.dumps(geometry)
        payload = {
            "name": "mauvaise-geometrie",
            "title": "Mauvaise géométrie",
            "notes": "Test",
            "owner_org": commune["id"],
            "spatial_coverage": [{"text": "Ici", "geom": geom}],
        }
        error = _error(_post(app, "package_create", payload, sysadmin_headers))
        assert "spatial_coverage" in error, geometry
    assert model.Package.get("mauvaise-geometrie") is None
    assert call_action("mel_quota_show", organization=commune["id"])["count"] == 0


def test_a_valid_spatial_coverage_is_indexed(app, sysadmin_headers, commune):
    call_action("mel_enrolment_create", organization=commune["id"])
    square = {"type": "Polygon", "coordinates": [[[3.0, 50.6], [3.1, 50.6], [3.1, 50.7], [3.0, 50.6]]]}
    payload = {
        "name": "bonne-geometrie",
        "title": "Bonne géométrie",
        "notes": "Test",
        "owner_org": commune["id"],
        "spatial_coverage": [{"text": "Ici", "geom": json.dumps(square)}],
    }
    response = _post(app, "package_create", payload, sysadmin_headers)
    assert response.status_code == 200
    found = call_action("package_search", fq=f'id:"{response.json["result"]["id"]}"')
    assert found["count"] == 1


# Hypothesis: any JSON value in any argument of any mel_* action


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)

ARGUMENTS = {
    "mel_enrolment_create": ("organization", "start_date", "end_date", "reason"),
    "mel_enrolment_show": ("organization", "include_history"),
    "mel_enrolment_list": ("status",),
    "mel_enrolment_extend": ("organization", "months", "until", "reason"),
    "mel_enrolment_end": ("organization", "reason"),
    "mel_enrolment_make_permanent": ("organization", "reason"),
    "mel_quota_show": ("organization",),
    "mel_quota_set": ("organization", "maximum", "reason"),
    "mel_validation_show": ("id",),
    "mel_validation_run": ("id",),
    "mel_quality_show": ("id", "organization"),
}


def test_every_mel_action_is_covered():
    """A new mel_* action must get its arguments listed above."""
    from ckanext.mel.logic import action as mel_actions

    names = {name for name in dir(mel_actions) if name.startswith("mel_")}
    assert names - {"mel_data_model_list", "mel_quality_list", "mel_enrolment_notify"} == set(ARGUMENTS)


def test_any_json_argument_gets_an_answer_not_a_server_error(app, sysadmin_headers, commune):
    call_action("mel_enrolment_create", organization=commune["id"])
    # The commune itself (by id, name or INSEE code) half of the time, so that the other
    # arguments are reached past the commune's lookup.
    organization = st.sampled_from([commune["id"], commune["name"], commune["insee_code"]]) | json_values

    for action, fields in sorted(ARGUMENTS.items()):

        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(
            st.fixed_dictionaries(
                {}, optional={f: organization if f == "organization" else json_values for f in fields}
            )
        )
        def check(payload):
            response = _post(app, action, payload, sysadmin_headers)  # noqa: B023 - run at once
            assert response.status_code < 500, (action, payload, response.body[:500])  # noqa: B023
            assert response.json["success"] is (response.status_code == 200)
            if response.status_code != 200:
                assert response.json["error"]

        check()


# Point 7: the read actions answer a GET, as CKAN's own do


READ_ACTIONS = {
    "mel_enrolment_show",
    "mel_enrolment_list",
    "mel_quota_show",
    "mel_data_model_list",
    "mel_validation_show",
    "mel_quality_show",
    "mel_quality_list",
}


def test_the_read_actions_are_exactly_those_marked_side_effect_free():
    from ckanext.mel.logic import action as mel_actions

    marked = {
        name
        for name in dir(mel_actions)
        if name.startswith("mel_") and getattr(get_action(name), "side_effect_free", False)
    }
    assert marked == READ_ACTIONS


def test_every_read_action_answers_a_get(app, commune, mel_staff):
    call_action("mel_enrolment_create", organization=commune["id"])
    dataset = factories.Dataset(owner_org=commune["id"])
    resource = factories.Resource(package_id=dataset["id"], url="https://example.org/x.csv", format="CSV")
    params = {
        "mel_enrolment_show": f"organization={commune['name']}&include_history=1",
        "mel_enrolment_list": "status=active",
        "mel_quota_show": f"organization={commune['insee_code']}",
        "mel_data_model_list": "",
        "mel_validation_show": f"id={resource['id']}",
        "mel_quality_show": f"id={dataset['name']}",
        "mel_quality_list": "",
    }
    assert set(params) == READ_ACTIONS
    headers = {"Authorization": api_token(mel_staff["name"])}
    for action, query in params.items():
        response = app.get(f"/api/3/action/{action}?{query}", headers=headers)
        # A resource without a data model has no report: a 404 that says so, not "use POST".
        expected = 404 if action == "mel_validation_show" else 200
        assert response.status_code == expected, (action, response.body[:300])
        assert "POST" not in response.body


def test_write_actions_still_refuse_a_get(app, commune, mel_staff):
    headers = {"Authorization": api_token(mel_staff["name"])}
    response = app.get(f"/api/3/action/mel_enrolment_create?organization={commune['name']}", headers=headers)
    assert response.status_code == 400
    assert call_action("mel_enrolment_show", organization=commune["id"])["status"] == "not_enrolled"

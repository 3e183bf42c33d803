"""Concurrent enrolment changes are serialised per commune (issue #11, point 3).

Over HTTP against a live multi-threaded server, so that each request has its own
database session and transaction, as on the portal's gunicorn workers.
"""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from ckan import model
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel.enrolment import add_months
from tests.helpers import api_token


def _concurrently(live_server, token, action, payloads):
    def post(payload):
        return requests.post(
            f"{live_server}/api/3/action/{action}",
            json=payload,
            headers={"Authorization": token},
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(post, payloads))


def _history(commune_id, action):
    shown = call_action("mel_enrolment_show", organization=commune_id, include_history=True)
    return [h for h in shown["history"] if h["action"] == action]


@pytest.fixture
def staff_token():
    return api_token(factories.Sysadmin()["name"])


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestConcurrentEnrolment:
    def test_twenty_extensions_of_a_month_move_the_end_twenty_months(self, live_server, staff_token, commune):
        enrolled = call_action("mel_enrolment_create", organization=commune["id"])
        model.Session.commit()
        responses = _concurrently(
            live_server,
            staff_token,
            "mel_enrolment_extend",
            [{"organization": commune["id"], "months": 1}] * 20,
        )
        assert [r.status_code for r in responses] == [200] * 20
        model.Session.remove()
        shown = call_action("mel_enrolment_show", organization=commune["id"])
        # Month after month, as twenty single extensions would (the clamping to the month's end included).
        expected = datetime.date.fromisoformat(enrolled["end_date"])
        for _ in range(20):
            expected = add_months(expected, 1)
        assert shown["end_date"] == expected.isoformat()
        assert len(_history(commune["id"], "extend")) == 20

    def test_of_twelve_enrolments_one_wins_and_the_others_say_why(self, live_server, staff_token, commune):
        model.Session.commit()
        responses = _concurrently(
            live_server, staff_token, "mel_enrolment_create", [{"organization": commune["id"]}] * 12
        )
        assert sorted(r.status_code for r in responses) == [200] + [409] * 11
        refusal = next(r for r in responses if r.status_code == 409).json()["error"]
        # "… is already enrolled (in its free period)", in the interface's language.
        assert commune["title"] in " ".join(refusal["organization"])
        model.Session.remove()
        assert len(_history(commune["id"], "enrol")) == 1

    def test_of_two_re_enrolments_one_wins(self, live_server, staff_token, commune):
        call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
        model.Session.commit()
        responses = _concurrently(
            live_server,
            staff_token,
            "mel_enrolment_create",
            [{"organization": commune["id"], "reason": f"again {i}"} for i in range(2)],
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        model.Session.remove()
        assert len(_history(commune["id"], "re_enrol")) == 1

"""The six-month free enrolment: dates, statuses, operations, rights and history."""

import datetime

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.logic import NotAuthorized
from ckan.tests import factories
from ckan.tests.helpers import call_action, call_auth
from freezegun import freeze_time

from ckanext.mel import enrolment

D = datetime.date


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (D(2017, 11, 7), 6, D(2018, 5, 7)),  # the first communes' period
        (D(2026, 8, 31), 6, D(2027, 2, 28)),  # no 31 February: the month's last day
        (D(2027, 8, 31), 6, D(2028, 2, 29)),  # a leap year
        (D(2026, 12, 31), 6, D(2027, 6, 30)),
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2026, 7, 15), 12, D(2027, 7, 15)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_end_of_the_month(start, months, end):
    assert enrolment.add_months(start, months) == end


def test_the_statuses_are_enrolled_ended_or_not_enrolled():
    groups = (enrolment.ENROLLED, enrolment.ENDED, {enrolment.Status.NOT_ENROLLED})
    assert set().union(*groups) == set(enrolment.Status)
    assert sum(len(group) for group in groups) == len(enrolment.Status)
    assert enrolment.MAY_ENROL == enrolment.ENDED | {enrolment.Status.NOT_ENROLLED}


@pytest.mark.parametrize(
    ("permanent", "ended_on"),
    [(False, None), (False, D(2026, 3, 5)), (True, D(2026, 3, 5))],
    ids=["expired", "ended-early", "permanent-then-ended"],
)
def test_the_last_day_is_the_last_one_the_status_lets_the_commune_publish(permanent, ended_on):
    """territory.py's charts count a commune up to this day: the same rule as status_of."""
    from ckanext.mel.model import Enrolment

    period = Enrolment(
        start_date=D(2026, 1, 1), end_date=D(2026, 6, 30), permanent=permanent, ended_on=ended_on
    )
    last = enrolment.last_day(period.end_date, permanent, ended_on)
    assert enrolment.status_of(period, on=last) in enrolment.PUBLISHING
    assert enrolment.status_of(period, on=last + datetime.timedelta(days=1)) not in enrolment.PUBLISHING


def test_a_permanent_member_has_no_last_day():
    assert enrolment.last_day(D(2026, 6, 30), True, None) is None


@pytest.mark.usefixtures("clean_db")
class TestLifecycle:
    def test_enrolment_defaults_to_today_plus_six_months(self, commune):
        with freeze_time("2017-11-07"):
            result = call_action("mel_enrolment_create", organization=commune["name"])
        assert (result["start_date"], result["end_date"]) == ("2017-11-07", "2018-05-07")

    @pytest.mark.ckan_config("ckanext.mel.enrolment.months", "3")
    def test_the_length_is_configurable(self, commune):
        result = call_action("mel_enrolment_create", organization=commune["id"], start_date="2026-01-10")
        assert result["end_date"] == "2026-04-10"

    def test_a_commune_is_found_by_its_insee_code(self, commune):
        result = call_action("mel_enrolment_create", organization=commune["insee_code"])
        assert result["organization"] == commune["name"]

    @pytest.mark.parametrize(
        ("today", "status", "days_left"),
        [
            ("2017-11-06", "scheduled", 182),
            ("2017-11-07", "active", 181),
            ("2018-04-06", "active", 31),
            ("2018-04-07", "expiring_soon", 30),
            ("2018-05-07", "expiring_soon", 0),  # the last day is still free
            ("2018-05-08", "expired", None),
        ],
    )
    def test_status_follows_the_calendar(self, commune, today, status, days_left):
        call_action("mel_enrolment_create", organization=commune["id"], start_date="2017-11-07")
        with freeze_time(today):
            shown = call_action("mel_enrolment_show", organization=commune["id"])
        assert (shown["status"], shown["days_left"]) == (status, days_left)
        assert shown["can_publish"] is (status in ("active", "expiring_soon"))

    def test_a_commune_never_enrolled_is_not_enrolled(self, commune):
        shown = call_action("mel_enrolment_show", organization=commune["id"])
        assert shown["status"] == "not_enrolled"
        assert shown["can_publish"] is False

    def test_an_unknown_commune_cannot_be_enrolled(self):
        with pytest.raises(tk.ValidationError) as error:
            call_action("mel_enrolment_create", organization="atlantis")
        assert "atlantis" in str(error.value.error_dict["organization"])

    def test_the_mel_itself_is_not_a_commune(self, mel_organization_factory):
        mel = mel_organization_factory()
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_create", organization=mel["id"])

    def test_a_commune_enrolled_cannot_be_enrolled_twice(self, commune):
        call_action("mel_enrolment_create", organization=commune["id"])
        with pytest.raises(tk.ValidationError) as error:
            call_action("mel_enrolment_create", organization=commune["id"])
        assert "already enrolled" in str(error.value.error_dict)

    def test_an_end_before_the_start_is_refused(self, commune):
        with pytest.raises(tk.ValidationError):
            call_action(
                "mel_enrolment_create",
                organization=commune["id"],
                start_date="2026-05-01",
                end_date="2026-04-01",
            )

    def test_a_bad_date_is_a_validation_error(self, commune):
        with pytest.raises(tk.ValidationError) as error:
            call_action("mel_enrolment_create", organization=commune["id"], start_date="7 novembre")
        assert "start_date" in error.value.error_dict

    def test_extend_by_months_and_to_a_date(self, commune):
        call_action("mel_enrolment_create", organization=commune["id"], start_date="2026-08-31")
        extended = call_action("mel_enrolment_extend", organization=commune["id"], months=1)
        assert extended["end_date"] == "2027-03-28"
        extended = call_action("mel_enrolment_extend", organization=commune["id"], until="2027-06-30")
        assert extended["end_date"] == "2027-06-30"

    def test_extend_needs_a_later_date_and_one_way_only(self, commune):
        call_action("mel_enrolment_create", organization=commune["id"], start_date="2026-08-01")
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_extend", organization=commune["id"], until="2026-09-01")
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_extend", organization=commune["id"])
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_extend", organization=commune["id"], months=1, until="2028-01-01")

    def test_an_expired_enrolment_is_not_extended_but_enrolled_again(self, commune):
        with freeze_time("2017-11-07"):
            call_action("mel_enrolment_create", organization=commune["id"])
        with freeze_time("2018-06-01"):
            with pytest.raises(tk.ValidationError) as error:
                call_action("mel_enrolment_extend", organization=commune["id"], months=2)
            assert "enrol it again" in str(error.value.error_dict)
            again = call_action("mel_enrolment_create", organization=commune["id"])
        assert (again["status"], again["start_date"], again["end_date"]) == (
            "active",
            "2018-06-01",
            "2018-12-01",
        )

    def test_ending_early_makes_the_commune_read_only_from_today(self, commune):
        call_action("mel_enrolment_create", organization=commune["id"])
        ended = call_action("mel_enrolment_end", organization=commune["id"], reason="Demande du maire")
        assert (ended["status"], ended["can_publish"]) == ("ended_early", False)
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_end", organization=commune["id"])

    def test_a_permanent_member_never_expires(self, commune):
        with freeze_time("2017-11-07"):
            call_action("mel_enrolment_create", organization=commune["id"])
            call_action("mel_enrolment_make_permanent", organization=commune["id"])
        with freeze_time("2030-01-01"):
            shown = call_action("mel_enrolment_show", organization=commune["id"])
        assert (shown["status"], shown["can_publish"], shown["days_left"]) == ("permanent", True, None)
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_extend", organization=commune["id"], months=1)

    def test_list_filters_by_status(self, commune_factory):
        active, expired, _never = commune_factory(), commune_factory(), commune_factory()
        call_action("mel_enrolment_create", organization=active["id"])
        call_action("mel_enrolment_create", organization=expired["id"], start_date="2017-11-07")
        everyone = call_action("mel_enrolment_list")
        assert {r["organization"] for r in everyone} == {active["name"], expired["name"], _never["name"]}
        assert [r["organization"] for r in call_action("mel_enrolment_list", status="expired")] == [
            expired["name"]
        ]
        row = next(r for r in everyone if r["organization"] == active["name"])
        assert (row["dataset_count"], row["obligation"], row["insee_code"]) == (0, True, active["insee_code"])
        with pytest.raises(tk.ValidationError):
            call_action("mel_enrolment_list", status="sleeping")


@pytest.mark.usefixtures("clean_db")
def test_every_change_is_in_the_history_with_who_when_and_why(commune, mel_staff):
    context = {"user": mel_staff["name"], "ignore_auth": False}
    with freeze_time("2017-11-07 10:00:00"):
        call_action(
            "mel_enrolment_create",
            context=dict(context),
            organization=commune["id"],
            reason="Convention signée",
        )
    with freeze_time("2018-04-01 09:00:00"):
        call_action(
            "mel_enrolment_extend",
            context=dict(context),
            organization=commune["id"],
            months=2,
            reason="Délibération",
        )
    with freeze_time("2018-05-01 09:00:00"):
        call_action(
            "mel_enrolment_make_permanent",
            context=dict(context),
            organization=commune["id"],
            reason="Adhésion",
        )

    history = call_action("mel_enrolment_show", organization=commune["id"], include_history=True)["history"]
    assert [(h["action"], h["timestamp"][:10], h["user"], h["reason"]) for h in history] == [
        ("enrol", "2017-11-07", mel_staff["name"], "Convention signée"),
        ("extend", "2018-04-01", mel_staff["name"], "Délibération"),
        ("make_permanent", "2018-05-01", mel_staff["name"], "Adhésion"),
    ]
    assert history[1]["previous_end_date"] == "2018-05-07"
    assert history[1]["end_date"] == "2018-07-07"


MANAGING_ACTIONS = [
    ("mel_enrolment_create", {}),
    ("mel_enrolment_extend", {"months": 1}),
    ("mel_enrolment_end", {}),
    ("mel_enrolment_make_permanent", {}),
    ("mel_enrolment_notify", {}),
]


@pytest.mark.usefixtures("clean_db")
class TestWhoMayManage:
    @pytest.fixture
    def people(self, commune, commune_factory, mel_staff):
        member, editor, admin, other_admin = (factories.User() for _ in range(4))
        commune_id = commune["id"]
        for user, capacity in ((member, "member"), (editor, "editor"), (admin, "admin")):
            call_action("organization_member_create", id=commune_id, username=user["name"], role=capacity)
        commune_factory(users=[{"name": other_admin["name"], "capacity": "admin"}])
        return {
            "member": member["name"],
            "editor": editor["name"],
            "admin": admin["name"],
            "other commune's admin": other_admin["name"],
            "mel staff": mel_staff["name"],
        }

    @pytest.mark.parametrize(("action", "extra"), MANAGING_ACTIONS)
    def test_only_mel_staff_manage_enrolment(self, people, commune, action, extra):
        data = {"organization": commune["id"], **extra}
        for kind in ("member", "editor", "admin", "other commune's admin"):
            with pytest.raises(NotAuthorized):
                call_auth(action, {"user": people[kind], "model": model}, **data)
        with pytest.raises(NotAuthorized):
            call_auth(action, {"user": None, "model": model}, **data)
        assert call_auth(action, {"user": people["mel staff"], "model": model}, **data)

    def test_a_sysadmin_manages_enrolment(self, commune):
        sysadmin = factories.Sysadmin()
        result = call_action(
            "mel_enrolment_create",
            context={"user": sysadmin["name"], "ignore_auth": False},
            organization=commune["id"],
        )
        assert result["status"] == "active"

    def test_anyone_reads_enrolments(self, commune):
        context = {"user": None, "ignore_auth": False}
        assert call_action("mel_enrolment_show", context=dict(context), organization=commune["id"])
        assert call_action("mel_enrolment_list", context=dict(context))

    def test_a_commune_admin_cannot_extend_their_own_period_through_the_api(self, people, commune, app):
        call_action("mel_enrolment_create", organization=commune["id"])
        user = model.User.by_name(people["admin"])
        token = call_action(
            "api_token_create", context={"user": user.name, "ignore_auth": True}, user=user.name, name="t"
        )
        response = app.post(
            "/api/3/action/mel_enrolment_extend",
            json={"organization": commune["name"], "months": 12},
            headers={"Authorization": token["token"]},
            status=403,
        )
        assert "MEL" in response.json["error"]["message"]

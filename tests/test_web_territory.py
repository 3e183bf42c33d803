"""The console's figures (ckanext/mel/territory.py): periods replayed from the
history, month by month counts, totals, and the charts' geometry."""

import datetime

import pytest
from ckan import model
from ckan.tests.helpers import call_action
from freezegun import freeze_time

from ckanext.mel import territory
from tests.helpers import call_as_sysadmin


def _ids(*communes):
    return [commune["id"] for commune in communes]


@pytest.mark.usefixtures("clean_db")
class TestTimeline:
    def test_a_backdated_enrolment_counts_from_its_start_not_from_when_it_was_recorded(self, commune):
        call_action(
            "mel_enrolment_create",
            organization=commune["id"],
            start_date="2026-03-10",
            end_date="2026-09-09",
        )
        with freeze_time("2026-11-15"):
            points = territory.timeline(_ids(commune), least=12)
        enrolled = {point["day"]: point["enrolled"] for point in points}
        assert enrolled["2026-02-28"] == 0
        assert enrolled["2026-03-31"] == 1 and enrolled["2026-08-31"] == 1
        assert enrolled["2026-09-30"] == 0  # expired on 9 September
        assert points[-1]["day"] == "2026-11-15"

    def test_ended_extended_and_enrolled_again(self, commune):
        with freeze_time("2026-01-05"):
            call_action("mel_enrolment_create", organization=commune["id"], start_date="2026-01-05")
        with freeze_time("2026-02-10"):
            call_action("mel_enrolment_end", organization=commune["id"])
        with freeze_time("2026-05-02"):
            call_action("mel_enrolment_create", organization=commune["id"], start_date="2026-05-02")
            call_action("mel_enrolment_extend", organization=commune["id"], months=2)
        by_commune = territory.periods(_ids(commune))[commune["id"]]
        assert by_commune == [
            territory.Period(datetime.date(2026, 1, 5), datetime.date(2026, 2, 9)),
            territory.Period(datetime.date(2026, 5, 2), datetime.date(2027, 1, 2)),
        ]
        with freeze_time("2026-06-20"):
            enrolled = [point["enrolled"] for point in territory.timeline(_ids(commune), least=6)]
        # January 31: in; end of February, March, April: out; May 31 and June 20: in.
        assert enrolled == [1, 0, 0, 0, 1, 1]

    def test_a_permanent_member_counts_from_then_on(self, commune):
        call_action(
            "mel_enrolment_create",
            organization=commune["id"],
            start_date="2026-01-01",
            end_date="2026-06-30",
        )
        call_action("mel_enrolment_make_permanent", organization=commune["id"])
        with freeze_time("2027-03-01"):
            assert territory.timeline(_ids(commune))[-1]["enrolled"] == 1

    def test_public_datasets_count_from_their_creation(self, commune):
        call_action("mel_enrolment_create", organization=commune["id"])
        # metadata_created follows the real clock, not freezegun's: set it as it would have been.
        for name, private, created in (
            ("avril", False, "2026-04-15"),
            ("juin", False, "2026-06-15"),
            ("cache", True, "2026-06-15"),
        ):
            dataset = call_as_sysadmin(
                "package_create", owner_org=commune["id"], name=name, notes="x", private=private
            )
            model.Package.get(dataset["id"]).metadata_created = datetime.datetime.fromisoformat(created)
        model.repo.commit()
        with freeze_time("2026-07-01"):
            points = territory.timeline(_ids(commune), least=4)
        assert [(point["day"], point["datasets"]) for point in points] == [
            ("2026-04-30", 1),
            ("2026-05-31", 1),
            ("2026-06-30", 2),
            ("2026-07-01", 2),
        ]

    def test_months_are_named_in_the_interface_language(self, commune):
        with freeze_time("2026-02-10"):
            assert territory.timeline(_ids(commune), least=2)[0]["label"] == "janv. 2026"
            assert territory.timeline(_ids(commune), "en", least=2)[0]["label"] == "Jan 2026"


def _row(status="active", obligation=True, public=0, datasets=None, can_publish=True):
    return {
        "status": status,
        "obligation": obligation,
        "public_dataset_count": public,
        "dataset_count": public if datasets is None else datasets,
        "quota_minimum": 3,
        "can_publish": can_publish,
    }


class TestTotals:
    def test_progress_counts_obliged_communes_at_the_target_rounded_down(self):
        rows = [
            _row(public=3),
            _row(public=5),
            _row(public=1),
            _row(status="expired", can_publish=False),
            _row(obligation=False, public=4),
            _row(status="not_enrolled", obligation=False, can_publish=False),
        ]
        totals = territory.totals(rows)
        assert totals["progress"] == 50  # 2 of the 4 obliged communes
        assert (totals["obliged"], totals["obliged_publishing"], totals["obliged_at_target"]) == (
            4,
            3,
            2,
        )
        assert (
            totals["enrolled"],
            totals["publishing"],
            totals["finished"],
            totals["not_enrolled"],
        ) == (4, 4, 1, 1)
        assert (totals["public_datasets"], totals["at_target"]) == (13, 3)

    def test_two_thirds_is_66_not_67(self):
        assert territory.totals([_row(public=3), _row(public=3), _row()])["progress"] == 66

    def test_without_obliged_communes_there_is_no_progress_to_show(self):
        assert territory.totals([_row(obligation=False)])["progress"] is None


class TestBarChart:
    def test_the_tallest_bar_reaches_a_round_top(self):
        chart = territory.bar_chart([0, 3, 7], ["a", "b", "c"])
        assert [tick["value"] for tick in chart["ticks"]] == [0, 2, 4, 6, 8]
        tallest = chart["bars"][2]
        assert tallest["y"] + tallest["height"] == chart["baseline"]
        assert tallest["height"] == pytest.approx((chart["baseline"] - chart["top"]) * 7 / 8, abs=0.1)
        assert chart["bars"][0]["height"] == 0

    def test_only_some_months_are_labelled_the_latest_always(self):
        chart = territory.bar_chart([1] * 24, [str(n) for n in range(24)], label_count=8)
        labelled = [bar["label"] for bar in chart["bars"] if bar["show_label"]]
        assert len(labelled) == 8 and labelled[-1] == "23"

    @pytest.mark.parametrize(("maximum", "step"), [(0, 1), (4, 1), (5, 2), (9, 5), (95, 50), (480, 200)])
    def test_steps_are_round(self, maximum, step):
        assert territory.nice_step(maximum) == step

"""The metadata quality score (data.europa.eu's MQA method, 405 points), check by check."""

from __future__ import annotations

import io
import os

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.lib import uploader
from ckan.tests import factories
from ckan.tests.helpers import call_action, call_auth

from ckanext.mel import quality, validation
from tests.dcat_data import EU, complete_dataset, lille_boundary, load_demo
from tests.helpers import api_token, call_as_sysadmin
from tests.test_loader import naissances


def _points(result: dict) -> dict[str, float]:
    return {check["key"]: check["points"] for check in result["checks"]}


@pytest.fixture
def bare(commune):
    """Title, description and a link to a page: what an agent in a hurry publishes."""
    return factories.Dataset(
        owner_org=commune["id"],
        title="Données",
        notes="Des données de la commune.",
        resources=[{"url": "https://www.example.org/donnees"}],
    )


# What the bare dataset gets anyway, from the schema's defaults and the commune.
BARE = {
    "spatial": 20,  # the commune, by default
    "dcat_ap_compliance": 30,  # title, description, a file with an access URL
    "licence": 20,  # Licence Ouverte 2.0 by default…
    "licence_vocabulary": 10,  # …published as the EU authority table's ETALAB_2_0
    "access_rights": 10,  # public by default…
    "access_rights_vocabulary": 5,  # …as an EU access-right
    "publisher": 10,  # the commune
    "rights": 5,  # the licence's conditions
    "issued": 5,  # the day it was created here
    "modified": 5,  # the last change here
}


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestADataset:
    def test_a_complete_dataset_with_its_file_uploaded_scores_every_point(self, commune, create_with_upload):
        dataset = complete_dataset(commune, create_with_upload)
        result = call_action("mel_quality_show", id=dataset["name"])
        assert result["score"] == quality.MAX_POINTS == 405
        assert result["rating"] == "excellent"
        assert result["missing"] == [] and result["violations"] == []
        assert _points(result) == {check.key: check.points for check in quality.CHECKS}
        assert result["dimensions"]["accessibility"] == {"points": 100, "max": 100}

    def test_a_bare_dataset(self, bare):
        result = call_action("mel_quality_show", id=bare["id"])
        assert _points(result) == {check.key: BARE.get(check.key, 0) for check in quality.CHECKS}
        assert result["score"] == sum(BARE.values()) == 120
        assert result["rating"] == "bad"
        missing = {item["key"]: item for item in result["missing"]}
        assert set(missing) == {check.key for check in quality.CHECKS} - set(BARE)
        assert missing["keywords"]["points_lost"] == 30
        assert missing["keywords"]["hint"]

    # Field by field: what each addition to the bare dataset gains, and only that.
    @pytest.mark.parametrize(
        "change, gained",
        [
            ({"tag_string": "écoles,éducation"}, {"keywords": 30}),
            ({"theme": [EU + "data-theme/EDUC"]}, {"themes": 30}),
            (
                {"temporal_coverage": [{"start": "2024-09-01", "end": "2025-08-31"}]},
                {"temporal": 20},
            ),
            (
                {"contact": [{"name": "Service éducation", "email": "education@example.org"}]},
                {"contact_point": 20},
            ),
            (
                # A link to a CSV file: its page on the portal answers, the file is not fetched.
                {"resources": [{"url": "https://www.example.org/ecoles.csv", "format": "CSV"}]},
                {
                    "access_url_reachable": 50,
                    "download_url": 20,
                    "format": 20,
                    "media_type": 10,
                    "format_vocabulary": 10,
                    "non_proprietary": 20,
                    "machine_readable": 20,
                },
            ),
            (
                {
                    "resources": [
                        {
                            "url": "https://www.example.org/ecoles.xlsx",
                            "format": "XLSX",
                            "size": 5000,
                        }
                    ]
                },
                {
                    "access_url_reachable": 50,
                    "download_url": 20,
                    "format": 20,
                    "media_type": 10,
                    "format_vocabulary": 10,
                    "machine_readable": 20,  # but proprietary
                    "byte_size": 5,
                },
            ),
        ],
    )
    def test_what_each_field_gains(self, bare, change, gained):
        before = _points(call_action("mel_quality_show", id=bare["id"]))
        call_as_sysadmin("package_patch", id=bare["id"], **change)
        after = _points(call_action("mel_quality_show", id=bare["id"]))
        assert {key: after[key] - before[key] for key in after if after[key] != before[key]} == gained

    def test_uploading_the_file_makes_the_download_reachable(self, bare, create_with_upload):
        call_as_sysadmin("package_patch", id=bare["id"], resources=[])
        sysadmin = factories.Sysadmin()
        resource = create_with_upload(
            "a,b\n1,2\n",
            "ecoles.csv",
            context={"user": sysadmin["name"]},
            package_id=bare["id"],
            format="CSV",
        )
        dataset = call_action("package_show", id=bare["id"])
        points = _points(quality.dataset_quality(dataset))
        assert points["download_url_reachable"] == 30 and points["byte_size"] == 5
        # The file gone from the storage: the download no longer answers.
        os.remove(uploader.get_resource_uploader(resource).get_path(resource["id"]))
        shares = quality.measure(dataset)["shares"]
        assert shares["download_url_reachable"] == 0 and shares["access_url_reachable"] == 1

    def test_half_the_files_score_half_the_points(self, bare):
        resources = [
            {"url": "https://www.example.org/a.csv", "format": "CSV", "size": 10},
            {"url": "https://www.example.org/b.csv", "format": "CSV"},
        ]
        call_as_sysadmin("package_patch", id=bare["id"], resources=resources)
        assert _points(call_action("mel_quality_show", id=bare["id"]))["byte_size"] == 2.5

    def test_a_broken_dcat_ap_description_loses_the_compliance_points(self, bare):
        # A distribution without any URL has no dcat:accessURL, which DCAT-AP 2.1.1 requires.
        call_as_sysadmin("package_patch", id=bare["id"], resources=[{"url": "", "name": "rien"}])
        result = call_action("mel_quality_show", id=bare["id"])
        assert _points(result)["dcat_ap_compliance"] == 0
        assert result["violations"]


# clean_queues: the burst worker below scores this test's datasets, not every earlier test's.
@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues")
class TestAccess:
    def test_a_private_dataset_is_scored_for_its_commune_only(self, commune):
        dataset = factories.Dataset(owner_org=commune["id"], private=True)
        editor = factories.User()
        call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
        assert call_auth("mel_quality_show", {"user": editor["name"]}, id=dataset["id"])
        with pytest.raises(tk.NotAuthorized):
            call_auth("mel_quality_show", {"user": factories.User()["name"]}, id=dataset["id"])

    def test_every_commune_for_mel_staff_only(self, mel_staff, commune):
        assert call_auth("mel_quality_list", {"user": mel_staff["name"]})
        for user in (None, factories.User()["name"]):
            with pytest.raises(tk.NotAuthorized):
                call_auth("mel_quality_list", {"user": user})

    def test_the_dataset_page_shows_it_to_the_commune_s_agents(
        self, app, commune_factory, create_with_upload
    ):
        commune, other = commune_factory(), commune_factory()
        dataset = complete_dataset(commune, create_with_upload)
        agent, stranger = factories.User(), factories.User()
        for user, organization in ((agent, commune), (stranger, other)):
            call_action(
                "organization_member_create",
                id=organization["id"],
                username=user["name"],
                role="editor",
            )
        # Even after the commune's free period: its agents can no longer edit, but still see.
        call_action(
            "mel_enrolment_create",
            organization=commune["id"],
            start_date="2020-01-01",
            end_date="2020-06-30",
        )

        def page(user):
            headers = {"Authorization": api_token(user["name"])} if user else {}
            return app.get(f"/dataset/{dataset['name']}", headers=headers).body

        _score_in_the_background()
        assert 'id="mel-quality"' in page(agent) and "405" in page(agent)
        assert 'id="mel-quality"' not in page(stranger)
        assert 'id="mel-quality"' not in page(None)


def _score_in_the_background() -> None:
    """What `ckan jobs worker default mel_quality` does after each change (scripts/run.sh)."""
    from ckan.lib import jobs

    jobs.Worker([quality.QUEUE]).work(burst=True)


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
class TestScoredInTheBackground:
    """Scoring takes a SHACL validation: a job does it after each change, a page view only reads it."""

    def test_a_change_queues_the_score_and_the_job_stores_it(self, bare):
        dataset = call_action("package_show", id=bare["id"])
        assert quality._stored(dataset) is None
        _score_in_the_background()
        assert quality._stored(dataset) is not None
        assert quality.stored_quality(dataset)["score"] == 120

    def test_a_page_view_only_reads_and_queues_what_is_missing(self, bare):
        from ckan.lib import jobs

        _score_in_the_background()
        # The score of an older version is not shown for a newer one.
        call_as_sysadmin("package_patch", id=bare["id"], tag_string="budget")
        changed = call_action("package_show", id=bare["id"])
        jobs.get_queue(quality.QUEUE).empty()
        quality.redis().delete(quality._key(bare["id"]) + ":queued")
        assert quality.stored_quality(changed) is None
        assert quality._stored(changed) is None  # not measured by the view…
        assert jobs.get_queue(quality.QUEUE).count == 1  # …but queued
        assert quality.stored_quality(changed) is None
        assert jobs.get_queue(quality.QUEUE).count == 1  # once
        _score_in_the_background()
        assert quality.stored_quality(changed)["score"] == 150

    def test_an_upload_is_scored_once_its_request_is_over_not_during_its_check(
        self, app, commune, model_dataset, sysadmin, monkeypatch
    ):
        # A job queued during the request would start at once, take the cores the upload's own
        # check needs, and score the dataset without that check: the upload commits twice.
        from ckan.lib import jobs

        dataset = model_dataset(commune)
        jobs.get_queue(quality.QUEUE).empty()
        quality.redis().delete(quality._key(dataset["id"]) + ":queued")
        queued_at_the_check = []
        check = validation.run

        def run(*args, **kwargs):
            queued_at_the_check.append(jobs.get_queue(quality.QUEUE).count)
            return check(*args, **kwargs)

        monkeypatch.setattr(validation, "run", run)
        response = app.post(
            "/api/3/action/resource_create",
            data={"package_id": dataset["id"], "upload": (io.BytesIO(naissances()), "naissances.csv")},
            headers={"Authorization": api_token(sysadmin["name"])},
        )

        assert call_action("mel_validation_show", id=response.json["result"]["id"])["status"] == "valid"
        assert queued_at_the_check == [0]
        assert [job.args for job in jobs.get_queue(quality.QUEUE).jobs] == [[dataset["id"]]]

    def test_the_editor_s_page_shows_the_score_once_the_job_has_run(self, app, commune):
        editor = factories.User()
        call_action("organization_member_create", id=commune["id"], username=editor["name"], role="editor")
        dataset = factories.Dataset(owner_org=commune["id"], title="Données", notes="Des données.")
        headers = {"Authorization": api_token(editor["name"])}
        assert 'id="mel-quality"' not in app.get(f"/dataset/{dataset['name']}", headers=headers).body
        _score_in_the_background()
        assert 'id="mel-quality"' in app.get(f"/dataset/{dataset['name']}", headers=headers).body


@pytest.mark.usefixtures("clean_db", "clean_index")
class TestACommune:
    def test_the_mean_of_its_public_datasets(self, commune, bare, create_with_upload):
        complete = complete_dataset(commune, create_with_upload)
        factories.Dataset(owner_org=commune["id"], private=True)  # not harvested: not scored
        result = call_action("mel_quality_show", organization=commune["name"])
        scores = {d["id"]: d["score"] for d in result["datasets"]}
        assert scores == {complete["id"]: 405, bare["id"]: 120}
        assert result["dataset_count"] == 2
        assert abs(result["score"] - (405 + 120) / 2) <= 1
        assert result["rating"] == "good"
        keywords = next(item for item in result["missing"] if item["key"] == "keywords")
        assert keywords["datasets_missing"] == 1 and keywords["points"] == 15

    def test_every_organisation_for_the_console(self, mel_staff, commune_factory, create_with_upload):
        scored, empty = commune_factory(boundary=lille_boundary()), commune_factory()
        complete_dataset(scored, create_with_upload)
        rows = call_action("mel_quality_list", context={"user": mel_staff["name"]})
        by_name = {row["name"]: row for row in rows}
        assert by_name[scored["name"]]["score"] == 405
        assert by_name[scored["name"]]["insee_code"] == scored["insee_code"]
        assert by_name[empty["name"]]["score"] is None and by_name[empty["name"]]["dataset_count"] == 0


@pytest.mark.usefixtures("clean_db", "clean_index")
def test_every_demo_dataset_is_excellent():
    for dataset in load_demo():
        result = call_action("mel_quality_show", id=dataset["name"])
        assert result["rating"] == "excellent", (
            dataset["name"],
            result["score"],
            result["missing"],
        )
    assert model.Session.query(model.Package).filter_by(state="active").count() == 10

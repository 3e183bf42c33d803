"""Search and database agree again after a crash (issue #11, point 8).

A crash between CKAN's indexing and its commit is reproduced as what it leaves
behind: an index entry of a dataset the database never kept (indexed by
CKAN's own indexer, never committed), a committed dataset the index lacks, and
an index entry of a version the database does not have.
"""

import uuid

import ckan.plugins.toolkit as tk
import pytest
import sqlalchemy as sa
from ckan import model
from ckan.lib import search
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel import reconcile, scheduler

pytestmark = pytest.mark.usefixtures("clean_db", "clean_index")


@pytest.fixture
def organization():
    return factories.Organization()


def _orphan_entry(owner_org):
    """Index a dataset as a request killed before its commit would have."""
    template = call_action("package_show", id=factories.Dataset(owner_org=owner_org)["id"])
    ghost = {**template, "id": str(uuid.uuid4()), "name": "jamais-enregistre", "title": "Jamais enregistré"}
    # CKAN 2.12 indexes the dataset as its schema shows it beside the default form.
    extra = {"with_custom_schema": ghost} if tk.check_ckan_version("2.12") else {}
    search.index_for(model.Package).index_package({**ghost, **extra})
    search.commit()
    return ghost


def _found(**params):
    return call_action("package_search", include_private=True, **params)


def test_an_orphan_entry_is_removed(commune):
    call_action("mel_enrolment_create", organization=commune["id"])
    ghost = _orphan_entry(commune["id"])
    assert _found(fq='name:"jamais-enregistre"')["count"] == 1

    report = reconcile.reconcile()

    assert report.orphans == [ghost["id"]] and not report.missing and not report.failed
    assert _found(fq='name:"jamais-enregistre"')["count"] == 0
    assert _found()["count"] == 1, "the real dataset stays"


def test_a_dataset_missing_from_the_index_is_indexed(organization):
    dataset = factories.Dataset(owner_org=organization["id"])
    search.clear(dataset["id"])
    search.commit()
    assert _found(fq=f'id:"{dataset["id"]}"')["count"] == 0

    report = reconcile.reconcile()

    assert report.missing == [dataset["id"]]
    assert _found(fq=f'id:"{dataset["id"]}"')["count"] == 1


def test_a_stale_entry_is_indexed_again(organization):
    dataset = factories.Dataset(title="Avant", owner_org=organization["id"])
    # The database kept another version than the index (an update whose commit failed).
    model.Session.execute(
        sa.text(
            "UPDATE package SET title = 'Après', metadata_modified = metadata_modified - interval '1 hour' "
            "WHERE id = :id"
        ),
        {"id": dataset["id"]},
    )
    model.Session.commit()

    report = reconcile.reconcile()

    assert report.stale == [dataset["id"]]
    assert _found(fq=f'id:"{dataset["id"]}"')["results"][0]["title"] == "Après"


def test_in_agreement_nothing_is_done(organization):
    factories.Dataset(owner_org=organization["id"])
    report = reconcile.reconcile()
    assert report.in_agreement and report.database == report.indexed == 1


def test_a_deleted_dataset_leaves_the_index(organization):
    dataset = factories.Dataset(owner_org=organization["id"])
    model.Session.execute(
        sa.text("UPDATE package SET state = 'deleted' WHERE id = :id"), {"id": dataset["id"]}
    )
    model.Session.commit()
    report = reconcile.reconcile()
    assert report.orphans == [dataset["id"]]
    assert _found(fq=f'id:"{dataset["id"]}"')["count"] == 0


def test_the_command_reports_then_fixes(cli, commune):
    from ckanext.mel.cli import mel

    ghost = _orphan_entry(commune["id"])
    dry = cli.invoke(mel, ["search", "reconcile", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"1 orphan(s) found: {ghost['id']}" in dry.output
    assert _found(fq='name:"jamais-enregistre"')["count"] == 1
    fixed = cli.invoke(mel, ["search", "reconcile"])
    assert fixed.exit_code == 0 and "1 orphan(s) fixed" in fixed.output
    assert _found(fq='name:"jamais-enregistre"')["count"] == 0


@pytest.mark.usefixtures("clean_queues")
def test_it_runs_at_start_and_on_a_schedule():
    (job,) = [j for j in scheduler.JOBS if j.function == "ckanext.mel.reconcile.reconcile_job"]
    assert job.at_start and job.every
    assert scheduler.queue_start_jobs() == ["search-reconcile"]
    titles = [j["title"] for j in call_action("job_list")]
    assert titles == ["mel: search-reconcile (start)"]

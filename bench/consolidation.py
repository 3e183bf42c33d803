"""One data model consolidated over 95 communes × 10,000 rows: from scratch, after one change.

Each of the MEL's 95 communes (the reference file, `ckan mel communes load`) gets one
public dataset in the births model (`mel-naissances`, whose primary key COLL_INSEE +
PERIODE_DEBUT makes the union keep the most recent row of each key) with one file of
10,000 daily rows, checked valid and loaded into the DataStore. The files' packages,
reports and tables are written straight (the bench times the consolidation, not 95
uploads): the tables by the loader's own COPY (`tables.replace`), the reports as a
check would leave them. Then:

1. the first consolidation, which creates the metropolitan dataset (from scratch);
2. one commune's file replaced (its rows changed), then the consolidation again;
3. one commune's upload through the real path (resource_patch, its check, the load
   job, the consolidation job, one job worker in this process): the delay until its
   rows are in the metropolitan table.

Printed: wall time, the Python heap's peak during the consolidation (tracemalloc)
and the process's peak RSS. It needs a CKAN database of its own, migrated:

    source scripts/lib.sh && scripts/services.sh createdb ckan_bench_consolidation
    use_db ckan_bench_consolidation 9 && .venv/bin/ckan -c test.ini db upgrade
    .venv/bin/ckan -c test.ini datastore set-permissions \\
        | scripts/services.sh psql ckan_bench_consolidation_datastore
    .venv/bin/python bench/consolidation.py [COMMUNES] [ROWS]
"""

from __future__ import annotations

import datetime
import io
import os
import resource as rusage
import sys
import time
import tracemalloc

COMMUNES = int(sys.argv[1]) if len(sys.argv) > 1 else 95
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
MODEL = "mel-naissances"
UPLOAD_ONLY = os.environ.get("MEL_BENCH_UPLOAD_ONLY") == "1"  # only the upload's delay
FIRST_DAY = datetime.date(1990, 1, 1)


def rows_of(insee: str, name: str, births_offset: int = 0):
    for day in range(ROWS):
        start = FIRST_DAY + datetime.timedelta(days=day)
        girls, boys = (day + births_offset) % 7, (day * 3 + births_offset) % 5
        yield {
            "COLL_INSEE": insee,
            "COLL_NOM": name,
            "PERIODE_DEBUT": start,
            "PERIODE_FIN": start,
            "NAISSANCES": girls + boys,
            "NAISSANCES_FILLES": girls,
            "NAISSANCES_GARCONS": boys,
        }


def a_source(organization, data_model) -> str:
    """A public dataset of the commune in the model, with one valid file loaded into the DataStore."""
    from ckan import model

    from ckanext.mel import validation
    from ckanext.mel.loader import fields, tables
    from ckanext.mel.loader.state import LOADED, DatastoreLoad

    package = model.Package(
        name=f"{organization.name}-naissances-bench",
        title="Naissances par jour",
        notes="Données du banc d'essai.",
        type="dataset",
        state="active",
        private=False,
    )
    package.owner_org = organization.id
    model.Session.add(package)
    model.Session.flush()
    package.extras = {"data_model": data_model.id}
    resource = model.Resource(package_id=package.id, url="naissances.csv", url_type="upload", format="CSV")
    resource.position = 0
    resource.last_modified = datetime.datetime.utcnow()
    resource.extras = {"datastore_active": True}
    model.Session.add(resource)
    model.repo.commit()
    table = fields.columns(data_model.schema())
    tables.replace(
        resource.id, table, rows_of(organization.extras["insee_code"], organization.title), lambda n: None
    )
    mark_valid(resource, data_model, validation, DatastoreLoad, LOADED)
    return resource.id


def mark_valid(resource, data_model, validation, DatastoreLoad, LOADED) -> None:  # noqa: N803
    from ckan import model

    wanted = validation.fingerprint(resource, data_model)
    now = datetime.datetime.utcnow()
    report = validation.ValidationReport.get(resource.id) or validation.ValidationReport(
        resource_id=resource.id
    )
    report.package_id, report.status, report.data_model = resource.package_id, validation.VALID, data_model.id
    report.fingerprint, report.created, report.finished, report.report = wanted, now, now, {"rows": ROWS}
    model.Session.add(report)
    load = DatastoreLoad.put(resource.id, LOADED, data_model.id, wanted)
    load.rows = ROWS
    model.repo.commit()


def measure(label: str, run) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    state = run()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024
    rows = state.rows if state is not None else 0
    print(f"{label:48} {seconds:8.1f} s {rows:>9,} rows  heap peak {peak / 2**20:6.1f} MB  RSS {rss:6.0f} MB")


def main() -> None:
    import ckan.plugins.toolkit as tk
    from ckan import model
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config("test.ini"))
    with app._wsgi_app.test_request_context():
        from ckan.lib import jobs as ckan_jobs
        from werkzeug.datastructures import FileStorage

        from ckanext.mel import communes, datamodels, validation
        from ckanext.mel.consolidation import build, jobs
        from ckanext.mel.consolidation.state import Consolidation
        from ckanext.mel.loader import fields, tables
        from ckanext.mel.loader.state import LOADED, DatastoreLoad

        site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
        context = {"user": site_user["name"]}
        if model.Group.by_name("lille") is None:
            communes.load_communes(dict(context))
        data_model = datamodels.get(MODEL)
        chosen = sorted(
            (g for g in model.Session.query(model.Group).filter_by(is_organization=True, state="active")),
            key=lambda g: g.name,
        )
        chosen = [g for g in chosen if communes.is_commune(g)][:COMMUNES]
        started = time.perf_counter()
        sources = []
        for organization in chosen:
            existing = model.Package.get(f"{organization.name}-naissances-bench")
            if existing is not None and existing.resources:
                sources.append(existing.resources[0].id)
            else:
                sources.append(a_source(organization, data_model))
        print(f"set-up: {len(sources)} communes × {ROWS:,} rows in {time.perf_counter() - started:.0f} s")
        for name in ("default", jobs.QUEUE):  # the set-up's own jobs (checks, changes): not what is timed
            ckan_jobs.get_queue(name).empty()

        previous = Consolidation.get(MODEL)  # a run before: from scratch again
        if previous is not None and not UPLOAD_ONLY:
            if previous.package_id:
                tk.get_action("dataset_purge")(dict(context), {"id": previous.package_id})
            model.Session.delete(Consolidation.get(MODEL))
            model.repo.commit()
        print(f"{'consolidation of ' + MODEL:48} {'time':>10} {'rows':>14}")
        if UPLOAD_ONLY:
            if previous is None or not previous.package_id:
                build.consolidate(MODEL)  # the dataset to update
        else:
            measure("from scratch (creates the metropolitan dataset)", lambda: build.consolidate(MODEL))

        # One commune's file replaced: its rows change, its report and load follow.
        resource = model.Resource.get(sources[0])
        organization = chosen[0]
        table = fields.columns(data_model.schema())
        tables.replace(
            resource.id,
            table,
            rows_of(organization.extras["insee_code"], organization.title, 1),
            lambda n: None,
        )
        resource.last_modified = datetime.datetime.utcnow()
        model.repo.commit()
        mark_valid(resource, data_model, validation, DatastoreLoad, LOADED)
        if not UPLOAD_ONLY:
            measure("after one commune's change", lambda: build.consolidate(MODEL))

        # A real upload: the check, the load job, the consolidation job, one worker.
        for name in ("default", jobs.QUEUE):
            ckan_jobs.get_queue(name).empty()
        resource.package.notes = resource.package.notes or "Données du banc d'essai."
        model.repo.commit()
        lines = [
            "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS"
        ]
        insee, name = organization.extras["insee_code"], organization.title
        for row in rows_of(insee, name, 2):
            lines.append(
                f"{insee},{name},{row['PERIODE_DEBUT']},{row['PERIODE_FIN']},{row['NAISSANCES']},"
                f"{row['NAISSANCES_FILLES']},{row['NAISSANCES_GARCONS']}"
            )
        content = ("\n".join(lines) + "\n").encode("utf-8")
        started = time.perf_counter()
        tk.get_action("resource_patch")(
            dict(context),
            {"id": resource.id, "upload": FileStorage(io.BytesIO(content), "naissances.csv", "text/csv")},
        )
        uploaded = time.perf_counter()
        wanted = model.Resource.get(resource.id).last_modified.isoformat()
        worker = ckan_jobs.Worker(["default", jobs.QUEUE])  # what `make run`'s workers listen to
        for _job in range(50):  # one job at a time, until the new rows are in the table
            worker.work(burst=True, max_jobs=1)
            model.Session.rollback()
            state = Consolidation.get(MODEL)
            if any(s["resource_id"] == resource.id and s["file_date"] == wanted for s in state.sources or []):
                break
        else:
            raise AssertionError("the new rows never reached the metropolitan table")
        done = time.perf_counter()
        print(
            f"upload to rows in the metropolitan table: {done - started:.1f} s "
            f"(upload and check {uploaded - started:.1f} s, jobs {done - uploaded:.1f} s)"
        )


if __name__ == "__main__":
    main()

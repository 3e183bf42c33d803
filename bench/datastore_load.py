"""The typed loader on 50,000-row files, one per official data model.

For each official model, a 50,000-row CSV is made by repeating the demo sample's
rows; it is loaded into the DataStore the way the load job does (frictionless
reads it typed by the model, COPY writes it in batches, one transaction), then
`datastore_search` is timed with a filter and a sort, as an application asks.
Printed: load time, rows per second, the Python heap's peak during the load
(tracemalloc, a second load) and the process's peak RSS, and the search's p50/p90.

It needs a CKAN database with its DataStore database, migrated (by default the
test configuration on a database of its own):

    source scripts/lib.sh && scripts/services.sh createdb ckan_bench_loader
    use_db ckan_bench_loader 9 && .venv/bin/ckan -c test.ini db upgrade
    .venv/bin/ckan -c test.ini datastore set-permissions \
        | scripts/services.sh psql ckan_bench_loader_datastore
    .venv/bin/python bench/datastore_load.py [ROWS] [SEARCHES] [MODEL,MODEL…]
"""

from __future__ import annotations

import io
import resource as rusage
import statistics
import sys
import time
import tracemalloc
import uuid

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
SEARCHES = int(sys.argv[2]) if len(sys.argv) > 2 else 50
ONLY = sys.argv[3].split(",") if len(sys.argv) > 3 else None  # some models only
# model: (sample, filter column, sort)
MODELS = {
    "scdl-prenoms": ("villeneuve-d-ascq-prenoms-2024.csv", "ENFANT_SEXE", "NOMBRE_OCCURRENCES desc"),
    "scdl-subventions": ("villeneuve-d-ascq-subventions-2024.csv", "nature", "montant desc"),
    "scdl-equipements": ("lille-equipements-publics.csv", "EQUIP_THEME", "EQUIP_NOM"),
    "schema-dae": ("villeneuve-d-ascq-defibrillateurs.csv", "com_insee", "date_instal desc"),
    "scdl-budget": ("villeneuve-d-ascq-compte-administratif-2023.csv", "BGT_SECTION", "BGT_MTREAL desc"),
}


def big_file(sample: bytes, rows: int) -> bytes:
    """The sample's header, then its rows repeated up to `rows` lines."""
    from ckanext.mel import tabular

    text, _encoding, _bom = tabular.decode(sample)
    lines = text.lstrip("\ufeff").splitlines()
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    out = io.StringIO()
    out.write(header + "\n")
    for i in range(rows):
        out.write(body[i % len(body)] + "\n")
    return out.getvalue().encode("utf-8")


def a_resource() -> str:
    """A package and resource straight in the database: the bench times the loader, not the forms."""
    from ckan import model

    package = model.Package(name=f"bench-loader-{uuid.uuid4().hex[:8]}", type="dataset", state="active")
    model.Session.add(package)
    model.Session.flush()
    resource = model.Resource(package_id=package.id, url="bench.csv", url_type="upload", format="CSV")
    resource.position = 0
    resource.extras = {"datastore_active": True}  # no resource_patch of this form-less package
    model.Session.add(resource)
    model.repo.commit()
    return resource.id


def load(resource_id: str, data_model, content: bytes) -> int:
    from ckanext.mel.loader import fields, jobs, tables

    schema = data_model.schema()
    coordinates = (data_model.latitude, data_model.longitude) if data_model.has_coordinates else None
    table = fields.columns(schema, coordinates)
    return tables.replace(resource_id, table, jobs.typed_rows(content, schema), lambda count: None)


def main() -> None:
    import ckan.plugins.toolkit as tk
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config("test.ini"))
    with app._wsgi_app.test_request_context():
        from ckanext.datastore.backend.postgres import get_write_engine

        from ckanext.mel import datamodels
        from ckanext.mel.demo import SAMPLES

        search = tk.get_action("datastore_search")
        print(f"{ROWS} rows per file; {SEARCHES} searches each (filter + sort, 100 rows)")
        columns = ("load s", "rows/s", "heap MB", "RSS MB", "p50 ms", "p90 ms")
        print(f"{'model':18} " + " ".join(f"{c:>8}" for c in columns))
        for model_id, (sample, filter_column, sort) in MODELS.items():
            if ONLY and model_id not in ONLY:
                continue
            data_model = datamodels.get(model_id)
            content = big_file((SAMPLES / sample).read_bytes(), ROWS)
            resource_id = a_resource()
            started = time.perf_counter()
            count = load(resource_id, data_model, content)
            seconds = time.perf_counter() - started
            assert count == ROWS, (model_id, count)
            tracemalloc.start()
            load(resource_id, data_model, content)  # a reload, as when a file changes
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024
            context = {"ignore_auth": True}
            first = search(dict(context), {"resource_id": resource_id, "limit": 1})["records"][0]
            value = first[filter_column]
            query = {"resource_id": resource_id, "filters": {filter_column: value}, "sort": sort}
            query["limit"] = 100
            timings = []
            for _ in range(SEARCHES):
                begin = time.perf_counter()
                search(dict(context), dict(query))
                timings.append((time.perf_counter() - begin) * 1000)
            p50 = statistics.median(timings)
            p90 = statistics.quantiles(timings, n=10)[-1]
            print(
                f"{model_id:18} {seconds:8.1f} {ROWS / seconds:8.0f} {peak / 2**20:8.1f} {rss:8.0f}"
                f" {p50:8.1f} {p90:8.1f}"
            )
            with get_write_engine().begin() as connection:  # not datastore_delete: no resource_patch
                connection.exec_driver_sql(f'DROP TABLE "{resource_id}"')


if __name__ == "__main__":
    main()

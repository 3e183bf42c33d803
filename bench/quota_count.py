"""How the quota's counts scale with the portal's size.

Loads CKAN (test.ini by default, so the plugins and the database of the test
suite), fills the package table with N datasets of 500 other organisations and
five of one commune inside the CKAN session's transaction, then times the real
`quota.counts` (what `quota.check` runs before each creation) and
`quota.dataset_counts` (the console's one query for every commune), beside the
same statement sent straight through psycopg2 and a `SELECT 1` (calls alternate,
so that each sees the same load), shows the plan PostgreSQL chooses for the
statement `quota.counts` sends, and rolls the
transaction back: the database is left as it was. Run it with growing N; the
time of `counts` should not grow. Usage (the database is the one CKAN's
migrations made; CKAN_SQLALCHEMY_URL overrides test.ini's, as in scripts/test.sh):

    .venv/bin/python bench/quota_count.py [N] [CKAN_INI]
    CKAN_SQLALCHEMY_URL=postgresql://ckan:ckan@127.0.0.1:5439/my_db .venv/bin/python bench/quota_count.py
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
INI = sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).resolve().parents[1] / "test.ini")
ORGANISATIONS = 500
REPEAT = 1000


def timed(functions: dict, repeat: int) -> dict[str, float]:
    """Median seconds of one call of each function over `repeat` rounds. The calls
    alternate, so that each sees the same load of the machine."""
    runs: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            runs[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    app = make_app(load_config(INI))
    with app._wsgi_app.app_context():
        from ckan import model

        from ckanext.mel import quota

        session = model.Session
        orgs = [str(uuid.uuid4()) for _ in range(ORGANISATIONS)]
        session.execute(
            sa.text(
                "INSERT INTO package (id, name, type, state, private, owner_org) "
                "SELECT md5(i::text || random()::text), 'bench-' || i, "
                "CASE WHEN i % 50 = 0 THEN 'reuse' ELSE 'dataset' END, "
                "CASE WHEN i % 10 = 0 THEN 'deleted' WHEN i % 7 = 0 THEN 'draft' ELSE 'active' END, "
                "i % 3 = 0, (:orgs)[1 + i % :n] "
                "FROM generate_series(1, :total) AS i"
            ),
            {"orgs": orgs, "n": ORGANISATIONS, "total": N},
        )
        commune = str(uuid.uuid4())
        session.execute(
            sa.text(
                "INSERT INTO package (id, name, type, state, private, owner_org) "
                "SELECT md5(random()::text), 'bench-commune-' || i || '-' || md5(random()::text), "
                "'dataset', 'active', i = 5, :org FROM generate_series(1, 5) AS i"
            ),
            {"org": commune},
        )
        session.execute(sa.text("ANALYZE package"))

        # The statement quota.counts really sends, caught on its way to PostgreSQL.
        sent: list[tuple[str, object]] = []

        def catch(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        engine = session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", catch)
        try:
            assert quota.counts(commune) == (5, 4), quota.counts(commune)
        finally:
            sa.event.remove(engine, "before_cursor_execute", catch)
        statement, parameters = sent[-1]
        raw = session.connection().connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + statement, parameters)
            plan = [row[0] for row in cursor.fetchall()]

        # The same statement straight through psycopg2 (what CKAN's session adds),
        # and a round trip that does nothing (what no query goes below).
        def direct():
            with raw.cursor() as cursor:
                cursor.execute(statement, parameters)
                cursor.fetchall()

        medians = timed(
            {
                "counts": lambda: quota.counts(commune),
                "direct": direct,
                "trip": lambda: session.execute(sa.text("SELECT 1")).one(),
            },
            REPEAT,
        )
        every = quota.dataset_counts()
        assert every[commune] == (5, 4)
        per_all = timed({"all": quota.dataset_counts}, 10)["all"]
        session.rollback()

    print(f"{N} datasets over {ORGANISATIONS} organisations, and a commune of 5")
    print(statement.strip())
    print("\n".join(plan))
    print(f"medians of {REPEAT} alternating calls:")
    print(f"  quota.counts (one commune): {medians['counts'] * 1000:.3f} ms")
    print(f"  the same statement through psycopg2: {medians['direct'] * 1000:.3f} ms")
    print(f"  SELECT 1 through CKAN's session: {medians['trip'] * 1000:.3f} ms")
    print(f"quota.dataset_counts ({len(every)} organisations), median of 10 calls: {per_all * 1000:.1f} ms")


if __name__ == "__main__":
    main()

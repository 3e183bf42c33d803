"""How the quota check's count scales with the portal's size.

Fills the package table of a database that CKAN's migrations created (by
default the test database) with N datasets of other organisations and five of
one commune, inside a transaction that is rolled back, then shows the plan and
timing of the query quota.count runs for that commune. Run it with growing N:
the time should not grow. Usage:

    .venv/bin/python bench/quota_count.py [N] [DATABASE_URL]
"""

import sys
import time
import uuid

import sqlalchemy as sa

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
URL = sys.argv[2] if len(sys.argv) > 2 else "postgresql://ckan:ckan@127.0.0.1:5439/ckan_test"
ORGANISATIONS = 500
COUNT = sa.text("SELECT count(*) FROM package WHERE owner_org = :org AND state != 'deleted'")

engine = sa.create_engine(URL)
with engine.connect() as connection:
    transaction = connection.begin()
    orgs = [str(uuid.uuid4()) for _ in range(ORGANISATIONS)]
    connection.execute(
        sa.text(
            "INSERT INTO package (id, name, type, state, private, owner_org) "
            "SELECT md5(i::text || random()::text), 'bench-' || i, 'dataset', "
            "CASE WHEN i % 10 = 0 THEN 'deleted' ELSE 'active' END, false, (:orgs)[1 + i % :n] "
            "FROM generate_series(1, :total) AS i"
        ),
        {"orgs": orgs, "n": ORGANISATIONS, "total": N},
    )
    commune = str(uuid.uuid4())
    connection.execute(
        sa.text(
            "INSERT INTO package (id, name, type, state, private, owner_org) "
            "SELECT md5(random()::text), 'bench-commune-' || i, 'dataset', 'active', false, :org "
            "FROM generate_series(1, 5) AS i"
        ),
        {"org": commune},
    )
    connection.execute(sa.text("ANALYZE package"))
    plan = connection.execute(sa.text("EXPLAIN ANALYZE " + COUNT.text), {"org": commune}).scalars().all()
    assert connection.execute(COUNT, {"org": commune}).scalar_one() == 5
    start = time.perf_counter()
    for _ in range(1000):
        connection.execute(COUNT, {"org": commune}).scalar_one()
    per_query = (time.perf_counter() - start) / 1000
    transaction.rollback()

print(f"{N} datasets over {ORGANISATIONS} organisations")
print("\n".join(plan))
print(f"mean of 1000 counts for a commune of 5 datasets: {per_query * 1000:.3f} ms")

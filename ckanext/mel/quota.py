"""How many datasets a commune holds, against the three-to-five target."""
from __future__ import annotations

import sqlalchemy as sa
from ckan import model


def dataset_counts() -> dict[str, tuple[int, int]]:
    """Per organisation id: (datasets not deleted, public active datasets). One query."""
    package = model.package_table
    rows = model.Session.execute(
        sa.select(
            package.c.owner_org,
            sa.func.count(),
            sa.func.count().filter(sa.and_(package.c.state == "active", package.c.private.is_(False))),
        )
        .where(package.c.state != "deleted", package.c.type == "dataset", package.c.owner_org.isnot(None))
        .group_by(package.c.owner_org)
    )
    return {org_id: (total, public) for org_id, total, public in rows}

"""The "Données métropolitaines" page: per data model, who contributes, how much, and who not."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan import model
from flask import Blueprint

from ckanext.mel import communes, datamodels
from ckanext.mel.consolidation.state import Consolidation

metropolitan = Blueprint("mel_metropolitan", __name__)


def _obliged_communes() -> list[model.Group]:
    organizations = model.Session.query(model.Group).filter(
        model.Group.is_organization.is_(True), model.Group.state == "active"
    )
    return sorted(
        (
            o
            for o in organizations
            if communes.is_commune(o) and communes.obligation_applies(communes.stored_value(o, "population"))
        ),
        key=lambda o: o.title or o.name,
    )


def summaries(staff: bool) -> list[dict[str, Any]]:
    """One entry per data model that has a metropolitan dataset or files that are not valid."""
    states = {state.data_model: state for state in Consolidation.all()}
    obliged = _obliged_communes() if staff else []
    result = []
    for data_model in datamodels.all_models():
        state = states.get(data_model.id)
        package = model.Package.get(state.package_id) if state is not None and state.package_id else None
        if package is not None and (package.state != "active" or package.private):
            package = None
        sources = list(state.sources or []) if state is not None else []
        invalid = list(state.invalid or []) if state is not None else []
        if package is None and not invalid and not staff:
            continue
        per_commune: dict[str, dict[str, Any]] = {}
        for source in sources:
            row = per_commune.setdefault(
                source["organization_id"],
                {
                    "commune": source["commune"],
                    "insee_code": source["insee_code"],
                    "organization_name": source["organization_name"],
                    "since": (state.since or {}).get(source["organization_id"]) if state else None,
                    "rows": 0,
                    "datasets": [],
                },
            )
            row["rows"] += source.get("rows", 0)
            if source["package_name"] not in [d["name"] for d in row["datasets"]]:
                row["datasets"].append({"name": source["package_name"], "title": source["package_title"]})
        contributing = {s["organization_id"] for s in sources}
        result.append(
            {
                "data_model": data_model,
                "package": package,
                "state": state,
                "communes": sorted(per_commune.values(), key=lambda r: r["commune"]),
                "invalid": invalid,
                "missing": [o for o in obliged if o.id not in contributing],
            }
        )
    return result


@metropolitan.route("/donnees-metropolitaines")
def index():
    user = tk.current_user.name if tk.current_user.is_authenticated else None
    staff = communes.is_mel_staff(user)
    return tk.render(
        "mel/metropolitan.html",
        {"models": summaries(staff), "staff": staff, "mel_organization": communes.mel_organization_name()},
    )

"""Which communes' files make a data model's metropolitan dataset.

A file contributes when it is a resource of a public, active dataset of a commune
(an organisation with an INSEE code) that follows the model, its last check found
it valid and the loader has its rows in the DataStore for that very version of the
file. Private datasets, drafts, deleted ones, other organisations' (the MEL's own
included) and files that are not valid never contribute. A valid file still waiting
for its load joins at the next consolidation, which its load triggers.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from ckan import model

from ckanext.mel import communes, datamodels, validation
from ckanext.mel.loader.state import LOADED, DatastoreLoad


@dataclass(frozen=True)
class SourceFile:
    resource_id: str
    resource_name: str
    package_id: str
    package_name: str
    package_title: str
    organization_id: str
    organization_name: str
    commune: str
    insee_code: str
    file_date: str  # ISO 8601, UTC: when the file was last replaced
    population: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _file_date(resource: model.Resource) -> datetime.datetime:
    return resource.last_modified or resource.created or datetime.datetime(1970, 1, 1)


def find(data_model: datamodels.DataModel) -> tuple[list[SourceFile], list[SourceFile]]:
    """The files that contribute, and the public files in this model that are not valid."""
    from ckanext.mel.validation import ValidationReport

    rows = (
        model.Session.query(model.Resource, model.Package, model.Group, ValidationReport)
        .join(model.Package, model.Package.id == model.Resource.package_id)
        .join(model.Group, model.Group.id == model.Package.owner_org)
        .join(ValidationReport, ValidationReport.resource_id == model.Resource.id)
        .filter(
            model.Resource.state == "active",
            model.Package.state == "active",
            model.Package.private.is_(False),
            model.Package.type == "dataset",
            model.Group.state == "active",
            model.Group.is_organization.is_(True),
            ValidationReport.data_model == data_model.id,
        )
        .all()
    )
    contributing, invalid = [], []
    for resource, package, organization, report in rows:
        if not communes.is_commune(organization) or package.extras.get("data_model") != data_model.id:
            continue
        current = validation.data_model_for(resource)
        if current is None or validation.fingerprint(resource, current) != report.fingerprint:
            continue  # changed since its check: the next check decides
        source = _source(resource, package, organization)
        if report.status == validation.INVALID:
            invalid.append(source)
        elif report.status == validation.VALID:
            load = DatastoreLoad.get(resource.id)
            if load is not None and load.status == LOADED and load.fingerprint == report.fingerprint:
                contributing.append(source)
    key = lambda s: (s.insee_code, s.package_name, s.resource_id)  # noqa: E731
    return sorted(contributing, key=key), sorted(invalid, key=key)


def _source(resource: model.Resource, package: model.Package, organization: model.Group) -> SourceFile:
    population = communes.stored_value(organization, "population")
    try:
        population = int(population) if population not in (None, "") else None
    except (TypeError, ValueError):
        population = None
    return SourceFile(
        resource_id=resource.id,
        resource_name=resource.name or resource.id,
        package_id=package.id,
        package_name=package.name,
        package_title=package.title or package.name,
        organization_id=organization.id,
        organization_name=organization.name,
        commune=organization.title or organization.name,
        insee_code=str(communes.stored_value(organization, "insee_code") or ""),
        file_date=_file_date(resource).isoformat(),
        population=population,
    )


def models_of_packages(package_ids: set[str]) -> set[str]:
    """The data models whose metropolitan dataset a change to these datasets may change: the
    model each follows now, and every model one of them contributed to at the last build."""
    from ckanext.mel.consolidation.state import Consolidation

    found: set[str] = set()
    for package_id in package_ids:
        package = model.Package.get(package_id)
        if package is None or package.type != "dataset" or not package.owner_org:
            continue
        # Only communes' datasets feed a union: the metropolitan datasets' own changes (their
        # file's check, their extent) must not queue their model again.
        if not communes.is_commune(model.Group.get(package.owner_org)):
            continue
        data_model = package.extras.get("data_model")
        if data_model and datamodels.get(data_model) is not None:
            found.add(data_model)
    for state in Consolidation.all():
        listed = {s.get("package_id") for s in [*(state.sources or []), *(state.invalid or [])]}
        if listed & package_ids:
            found.add(state.data_model)
    return found

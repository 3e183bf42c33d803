"""The metropolitan datasets: one per data model, the union of the communes' valid public files.

- sources.py  which files contribute (public, active, valid, loaded) and which are not valid
- build.py    one consolidation: SQL union of the sources' DataStore tables into the loader's
              typed COPY, with each row's provenance; the consolidated CSV written from it
- metadata.py the dataset's title, description, coverage and resources, in French
- jobs.py     live updates (one debounced job per model, an advisory lock), the nightly run
- dcat.py     dct:source to each source dataset in the feeds
- views.py    the "Données métropolitaines" page;  cli.py  `ckan mel consolidate [MODEL]`
- state.py    mel_consolidation: each model's dataset, resources and sources
"""

from __future__ import annotations

from ckanext.mel.consolidation.state import Consolidation

__all__ = ["Consolidation", "is_consolidated_file", "is_metropolitan"]


def is_consolidated_file(resource_id: str) -> bool:
    """A file or table of a metropolitan dataset: the loader leaves them alone (the rows are
    in the dataset's own table, with their provenance)."""
    from ckan import model

    resource = model.Resource.get(resource_id)
    return resource is not None and is_metropolitan(resource.package_id)


def is_metropolitan(package_id: str | None) -> bool:
    return package_id is not None and Consolidation.for_package(package_id) is not None

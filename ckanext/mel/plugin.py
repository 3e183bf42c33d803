from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig
from ckan.lib.plugins import DefaultTranslation
from ckan.types import Context

from ckanext.mel import validation, vocabularies
from ckanext.mel.loader.map_view import MapView


def _blueprints() -> list[Any]:
    from ckanext.mel import feeds, views
    from ckanext.mel.consolidation import views as consolidation_views
    from ckanext.mel.datamodels import views as data_model_views
    from ckanext.mel.loader.exports import exports
    from ckanext.mel.reuses import views as reuse_views

    return [
        views.mel,
        feeds.feeds,
        data_model_views.data_models,
        exports,
        reuse_views.reuses,
        consolidation_views.metropolitan,
    ]


def _with_reuses(module: str) -> Callable[[], dict[str, Any]]:
    """The blanket's own module (logic/action.py, …) and its reuses/ counterpart."""

    def members() -> dict[str, Any]:
        from ckan.authz import get_local_functions

        names = (f"ckanext.mel.{module}", f"ckanext.mel.reuses.{module.rpartition('.')[2]}")
        return {name: function for m in names for name, function in get_local_functions(import_module(m))}

    return members


@tk.blanket.actions(_with_reuses("logic.action"))
@tk.blanket.auth_functions(_with_reuses("logic.auth"))
@tk.blanket.validators(_with_reuses("logic.validators"))
@tk.blanket.helpers(_with_reuses("helpers"))
@tk.blanket.blueprints(_blueprints)
@tk.blanket.cli
@tk.blanket.config_declarations
class MelPlugin(p.SingletonPlugin, DefaultTranslation, MapView):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IResourceController, inherit=True)
    p.implements(p.IMiddleware, inherit=True)
    p.implements(p.IResourceView, inherit=True)  # the map of a loaded table (loader/map_view.py)
    p.implements(p.IFacets, inherit=True)

    # IFacets: the search's facets are the commune, the theme and the data model (search_facets.py).

    def dataset_facets(self, facets_dict: dict[str, Any], package_type: str) -> dict[str, Any]:
        from ckanext.mel import search_facets

        return search_facets.facets(facets_dict) if package_type == "dataset" else facets_dict

    # IConfigurer

    def update_config(self, config: CKANConfig):
        tk.add_template_directory(config, "templates")
        # The portal's templates before the other plugins' (scheming's dataset page
        # snippets included), whatever their order in ckan.plugins: CKAN searches
        # extra_template_paths first.
        ours = config["plugin_template_paths"].pop(0)
        extra = [path for path in (config.get("extra_template_paths") or "").split(",") if path]
        if ours not in extra:
            config["extra_template_paths"] = ",".join([ours, *extra])
        tk.add_resource("assets", "ckanext-mel")
        # The portal's licences (Licence Ouverte 2.0, ODbL), unless the site chose others.
        if not config.get("licenses_group_url"):
            config["licenses_group_url"] = vocabularies.default_licenses_group_url()

    # IPackageController: reuses are found by their datasets and communes, and only
    # by searches that ask for their type (reuses/__init__.py).

    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        from ckanext.mel import reuses, search_facets

        return reuses.before_index(search_facets.before_index(pkg_dict))

    def before_dataset_search(self, search_params: dict[str, Any]) -> dict[str, Any]:
        from ckanext.mel import reuses

        return reuses.search_filter(search_params)

    # IPackageController: each checked resource's validation status and date, where clients look.

    def after_dataset_show(self, context: Context, pkg_dict: dict[str, Any]):
        validation.add_status([pkg_dict])

    def after_dataset_search(self, search_results: dict[str, Any], search_params: dict[str, Any]):
        validation.add_status(search_results.get("results") or [])
        return search_results

    # IMiddleware: the portal serves ckanext-dcat's feed URLs itself (feeds.py); committed
    # changes refresh the feeds' cache, queue the datasets' quality scores and the
    # metropolitan datasets' consolidation (at the end of the request: after_request.py).

    def make_middleware(self, app: Any, config: CKANConfig) -> Any:
        from ckanext.mel import after_request, feed_cache, feeds, quality
        from ckanext.mel.consolidation import jobs as consolidation_jobs

        feeds.install(app)
        after_request.install(app)
        feed_cache.watch_organisations()
        quality.watch_datasets()
        consolidation_jobs.watch_changes()
        return app

    # IPackageController, IResourceController: check CSV files against the data model.
    # Package updates run before their commit, so their checks go to a background job.

    def after_dataset_create(self, context: Context, pkg_dict: dict[str, Any]):
        self._check_resources(context, pkg_dict)

    def after_dataset_update(self, context: Context, pkg_dict: dict[str, Any]):
        self._check_resources(context, pkg_dict)

    def _check_resources(self, context: Context, pkg_dict: dict[str, Any]):
        if context.get("mel_system_update") or context.get("defer_commit"):
            return
        if context.get("mel_resource_action"):
            # resource_create/update on 2.12: the file is stored, its check starts, the action's
            # after_resource_* hook takes it. (2.11's actions store the file after their package
            # update, whose commit they defer: the hook checks it then.)
            if "mel_started_checks" in context and context.get("package") is not None:
                context["mel_started_checks"].update(validation.start_checks(context["package"]))
            return
        for resource in pkg_dict.get("resources") or []:
            if resource.get("id"):
                validation.on_resource_changed(resource["id"], in_request=False)

    def after_resource_create(self, context: Context, resource: dict[str, Any]):
        self._check_resource(context, resource)

    def after_resource_update(self, context: Context, resource: dict[str, Any]):
        self._check_resource(context, resource)

    def _check_resource(self, context: Context, resource: dict[str, Any]):
        if not context.get("mel_system_update"):
            early = (context.get("mel_started_checks") or {}).get(resource["id"])
            validation.on_resource_changed(resource["id"], early=early)

    def after_resource_delete(self, context: Context, resources: list[dict[str, Any]]):
        package = context.get("package")
        if package is not None and not context.get("mel_system_update"):
            validation.on_resource_deleted(package.id)

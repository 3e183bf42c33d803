from __future__ import annotations

from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.common import CKANConfig
from ckan.lib.plugins import DefaultTranslation
from ckan.types import Context

from ckanext.mel import validation, vocabularies


def _blueprints() -> list[Any]:
    from ckanext.mel import feeds, views
    from ckanext.mel.datamodels import views as data_model_views

    return [views.mel, feeds.feeds, data_model_views.data_models]


@tk.blanket.actions
@tk.blanket.auth_functions
@tk.blanket.validators
@tk.blanket.helpers
@tk.blanket.blueprints(_blueprints)
@tk.blanket.cli
@tk.blanket.config_declarations
class MelPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IResourceController, inherit=True)

    # IConfigurer

    def update_config(self, config: CKANConfig):
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "ckanext-mel")
        # The portal's licences (Licence Ouverte 2.0, ODbL), unless the site chose others.
        if not config.get("licenses_group_url"):
            config["licenses_group_url"] = vocabularies.default_licenses_group_url()

    # IPackageController, IResourceController: check CSV files against the data model.
    # Package updates run before their commit, so their checks go to a background job.

    def after_dataset_create(self, context: Context, pkg_dict: dict[str, Any]):
        self._check_resources(context, pkg_dict)

    def after_dataset_update(self, context: Context, pkg_dict: dict[str, Any]):
        self._check_resources(context, pkg_dict)

    def _check_resources(self, context: Context, pkg_dict: dict[str, Any]):
        if context.get("mel_system_update") or context.get("defer_commit"):
            return
        for resource in pkg_dict.get("resources") or []:
            if resource.get("id"):
                validation.on_resource_changed(resource["id"], in_request=False)

    def after_resource_create(self, context: Context, resource: dict[str, Any]):
        if not context.get("mel_system_update"):
            validation.on_resource_changed(resource["id"])

    def after_resource_update(self, context: Context, resource: dict[str, Any]):
        if not context.get("mel_system_update"):
            validation.on_resource_changed(resource["id"])

    def after_resource_delete(self, context: Context, resources: list[dict[str, Any]]):
        package = context.get("package")
        if package is not None and not context.get("mel_system_update"):
            validation.on_resource_deleted(package.id)

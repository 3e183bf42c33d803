"""Auth functions: the mel_* actions' own, in the same order as logic/action.py,
then the core write paths chained with the enrolment rule."""

from __future__ import annotations

from collections.abc import Iterable

import ckan.plugins.toolkit as tk
from ckan import authz, model
from ckan.types import AuthFunction, AuthResult, Context, DataDict

from ckanext.mel import communes, enrolment


def _mel_staff_only(context: Context, data_dict: DataDict) -> AuthResult:
    if communes.is_mel_staff(context.get("user")):
        return {"success": True}
    return {"success": False, "msg": tk._("Only MEL staff can manage the communes' enrolment.")}


def mel_enrolment_create(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


@tk.auth_allow_anonymous_access
def mel_enrolment_show(context: Context, data_dict: DataDict) -> AuthResult:
    """Enrolments are public: the portal is transparent about who takes part."""
    return {"success": True}


@tk.auth_allow_anonymous_access
def mel_enrolment_list(context: Context, data_dict: DataDict) -> AuthResult:
    return {"success": True}


def mel_enrolment_extend(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


def mel_enrolment_end(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


def mel_enrolment_make_permanent(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


def mel_enrolment_notify(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


@tk.auth_allow_anonymous_access
def mel_quota_show(context: Context, data_dict: DataDict) -> AuthResult:
    return {"success": True}


def mel_quota_set(context: Context, data_dict: DataDict) -> AuthResult:
    return _mel_staff_only(context, data_dict)


@tk.auth_allow_anonymous_access
def mel_data_model_list(context: Context, data_dict: DataDict) -> AuthResult:
    return {"success": True}


@tk.auth_allow_anonymous_access
def mel_validation_show(context: Context, data_dict: DataDict) -> AuthResult:
    """Whoever may see the resource may see its report."""
    return authz.is_authorized("resource_show", context, {"id": data_dict.get("id")})


def mel_validation_run(context: Context, data_dict: DataDict) -> AuthResult:
    """Whoever may change the resource may have it checked again."""
    return authz.is_authorized("resource_update", context, {"id": data_dict.get("id")})


# Feeds and metadata quality


@tk.auth_allow_anonymous_access
def mel_quality_show(context: Context, data_dict: DataDict) -> AuthResult:
    """A dataset's score for whoever may see it; an organisation's (public datasets) for all."""
    if data_dict.get("id"):
        return authz.is_authorized("package_show", context, {"id": data_dict["id"]})
    return {"success": True}


def mel_quality_list(context: Context, data_dict: DataDict) -> AuthResult:
    if communes.is_mel_staff(context.get("user")):
        return {"success": True}
    message = tk._("Only MEL staff can see every commune's metadata quality.")
    return {"success": False, "msg": message}


# Core write paths: a commune writes only while its enrolment lets it publish.
# Sysadmins never reach these functions; MEL staff pass through.


def _refusal(context: Context, organization_ids: Iterable[str | None]) -> AuthResult | None:
    if communes.is_mel_staff(context.get("user")):
        return None
    for organization_id in organization_ids:
        organization = communes.organization(organization_id)
        if organization is None or not communes.is_commune(organization):
            continue
        message = enrolment.refusal_message(organization)
        if message:
            return {"success": False, "msg": message}
    return None


def _package(context: Context, data_dict: DataDict) -> model.Package | None:
    package = context.get("package")
    if package is None:
        ref = data_dict.get("id") or data_dict.get("name")
        package = model.Package.get(ref) if ref else None
    return package


def _resource_package(data_dict: DataDict) -> model.Package | None:
    resource = model.Resource.get(data_dict.get("id") or "")
    return resource.package if resource else None


@tk.chained_auth_function
def package_create(next_auth: AuthFunction, context: Context, data_dict: DataDict | None) -> AuthResult:
    return _refusal(context, [(data_dict or {}).get("owner_org")]) or next_auth(context, data_dict)


@tk.chained_auth_function
def package_update(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    package = _package(context, data_dict)
    targets = [package.owner_org if package else None, data_dict.get("owner_org")]
    return _refusal(context, targets) or next_auth(context, data_dict)


@tk.chained_auth_function
def package_delete(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    package = _package(context, data_dict)
    return _refusal(context, [package.owner_org if package else None]) or next_auth(context, data_dict)


@tk.chained_auth_function
def resource_create(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    package = model.Package.get(data_dict.get("package_id") or "")
    return _refusal(context, [package.owner_org if package else None]) or next_auth(context, data_dict)


@tk.chained_auth_function
def resource_update(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    package = _resource_package(data_dict)
    return _refusal(context, [package.owner_org if package else None]) or next_auth(context, data_dict)


@tk.chained_auth_function
def resource_delete(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    package = _resource_package(data_dict)
    return _refusal(context, [package.owner_org if package else None]) or next_auth(context, data_dict)


@tk.chained_auth_function
def bulk_update_private(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    return _refusal(context, [data_dict.get("org_id")]) or next_auth(context, data_dict)


@tk.chained_auth_function
def bulk_update_public(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    return _refusal(context, [data_dict.get("org_id")]) or next_auth(context, data_dict)


@tk.chained_auth_function
def bulk_update_delete(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    return _refusal(context, [data_dict.get("org_id")]) or next_auth(context, data_dict)


# A commune's reference data and its existence are the MEL's. Its own admins
# edit its presentation (description, logo, website, contact), never its INSEE
# code, SIREN, population, postcodes, boundary, name or title; nor delete it.


def _organization(context: Context, data_dict: DataDict | None) -> model.Group | None:
    data_dict = data_dict or {}
    ref = data_dict.get("id") or data_dict.get("name")
    group = model.Group.get(ref) if isinstance(ref, str) and ref else None
    return group or context.get("group")


def _reference_refusal(context: Context, data_dict: DataDict | None) -> AuthResult | None:
    if communes.is_mel_staff(context.get("user")):
        return None
    changed = communes.staff_only_changes(_organization(context, data_dict), data_dict or {})
    if not changed:
        return None
    message = tk._(
        "Only MEL staff can change a commune's reference data ({fields}). Its admins can change "
        "its description, logo, website and contact."
    )
    return {"success": False, "msg": message.format(fields=", ".join(changed))}


def _staff_for_commune(context: Context, data_dict: DataDict | None) -> bool:
    """MEL staff manage every commune, as its admins would."""
    return communes.is_mel_staff(context.get("user")) and communes.is_commune(
        _organization(context, data_dict)
    )


@tk.chained_auth_function
def organization_update(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    if _staff_for_commune(context, data_dict):
        return {"success": True}
    return _reference_refusal(context, data_dict) or next_auth(context, data_dict)


@tk.chained_auth_function
def group_update(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    """group_update reaches organisations too: the same rule."""
    return _reference_refusal(context, data_dict) or next_auth(context, data_dict)


def _existence_refusal(context: Context, data_dict: DataDict | None) -> AuthResult | None:
    if communes.is_commune(_organization(context, data_dict)) and not communes.is_mel_staff(
        context.get("user")
    ):
        return {"success": False, "msg": tk._("Only MEL staff can delete or purge a commune.")}
    return None


@tk.chained_auth_function
def organization_delete(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    if _staff_for_commune(context, data_dict):
        return {"success": True}
    return _existence_refusal(context, data_dict) or next_auth(context, data_dict)


@tk.chained_auth_function
def group_delete(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    return _existence_refusal(context, data_dict) or next_auth(context, data_dict)


@tk.chained_auth_function
def organization_purge(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    """CKAN lets sysadmins alone purge (they never reach here): the same for communes."""
    return _existence_refusal(context, data_dict) or next_auth(context, data_dict)


@tk.chained_auth_function
def group_purge(next_auth: AuthFunction, context: Context, data_dict: DataDict) -> AuthResult:
    return _existence_refusal(context, data_dict) or next_auth(context, data_dict)

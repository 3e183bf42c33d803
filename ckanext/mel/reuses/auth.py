"""Auth functions of the reuses' actions, same names and order as reuses/action.py."""

from __future__ import annotations

import ckan.plugins.toolkit as tk
from ckan.types import AuthResult, Context, DataDict

from ckanext.mel import reuses


def mel_reuse_propose(context: Context, data_dict: DataDict) -> AuthResult:
    """Anyone logged in (CKAN refuses anonymous calls before this runs)."""
    return {"success": True}


@tk.auth_allow_anonymous_access
def mel_reuse_show(context: Context, data_dict: DataDict) -> AuthResult:
    """A published reuse for all; a proposal or a refusal for its proposer and its reviewers."""
    package = reuses.get(data_dict.get("id"))
    if package is None:
        return {"success": False, "msg": tk._("Reuse not found")}
    user_name = context.get("user")
    if (
        reuses.stored(package, "review_status") == reuses.PUBLISHED
        or reuses.is_proposer(user_name, package)
        or reuses.may_review(user_name, package)
    ):
        return {"success": True}
    return {"success": False, "msg": tk._("This reuse is not published.")}


@tk.auth_allow_anonymous_access
def mel_reuse_list(context: Context, data_dict: DataDict) -> AuthResult:
    """Public; the lists under review hold only what the user may review."""
    return {"success": True}


def _reviewer(context: Context, data_dict: DataDict) -> AuthResult:
    package = reuses.get(data_dict.get("id"))
    if package is not None and reuses.may_review(context.get("user"), package):
        return {"success": True}
    message = tk._("Only MEL staff, or the admins of the communes whose data the reuse uses, review it.")
    return {"success": False, "msg": message}


def mel_reuse_publish(context: Context, data_dict: DataDict) -> AuthResult:
    return _reviewer(context, data_dict)


def mel_reuse_refuse(context: Context, data_dict: DataDict) -> AuthResult:
    return _reviewer(context, data_dict)


@tk.auth_allow_anonymous_access
def mel_reuse_counts(context: Context, data_dict: DataDict) -> AuthResult:
    return {"success": True}

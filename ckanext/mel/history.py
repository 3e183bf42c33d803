"""The history of a commune's membership: enrolment changes, quota grants and
notifications, each with who, when and why (table mel_commune_history)."""

from __future__ import annotations

import datetime
from typing import Any

from ckan import model

from ckanext.mel.model import CommuneHistory


def record(
    organization_id: str, action: str, user_id: str | None, reason: str = "", **data: Any
) -> CommuneHistory:
    """Add one entry; the caller commits with the change it describes."""
    entry = CommuneHistory(
        organization_id=organization_id,
        action=action,
        user_id=user_id,
        reason=reason or "",
        data=data,
        timestamp=datetime.datetime.utcnow(),
    )
    model.Session.add(entry)
    return entry


def entries(organization_id: str, action: str | None = None) -> list[CommuneHistory]:
    query = model.Session.query(CommuneHistory).filter(CommuneHistory.organization_id == organization_id)
    if action:
        query = query.filter(CommuneHistory.action == action)
    return query.order_by(CommuneHistory.timestamp, CommuneHistory.id).all()


# Entry data that names people by their email address: MEL staff only.
PRIVATE_KEYS = ("recipients", "failed")


def dictize(entry: CommuneHistory, include_private: bool = False) -> dict[str, Any]:
    """One entry; without `include_private`, whom a notice reached is a count, not addresses."""
    user = model.User.get(entry.user_id) if entry.user_id else None
    data = dict(entry.data)
    if not include_private:
        if "recipients" in data:
            data["recipient_count"] = len(data["recipients"] or [])
        for key in PRIVATE_KEYS:
            data.pop(key, None)
    return {
        "action": entry.action,
        "timestamp": entry.timestamp.isoformat(),
        "user": user.name if user else None,
        "reason": entry.reason,
        **data,
    }

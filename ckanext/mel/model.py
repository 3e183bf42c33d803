"""The plugin's tables (created by the alembic migrations in migration/mel)."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from ckan import model
from ckan.model import types as ckan_types
from ckan.model.base import BaseModel
from sqlalchemy.orm import Mapped


class Enrolment(BaseModel):  # type: ignore[valid-type, misc]
    """A commune's current enrolment; its status is derived from the dates."""

    __tablename__ = "mel_enrolment"

    organization_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("group.id", ondelete="CASCADE"), primary_key=True
    )  # type: ignore[assignment]
    start_date: Mapped[datetime.date] = sa.Column(sa.Date, nullable=False)  # type: ignore[assignment]
    end_date: Mapped[datetime.date] = sa.Column(sa.Date, nullable=False)  # type: ignore[assignment]
    ended_on: Mapped[datetime.date | None] = sa.Column(sa.Date)  # type: ignore[assignment]
    permanent: Mapped[bool] = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())  # type: ignore[assignment]


class CommuneHistory(BaseModel):  # type: ignore[valid-type, misc]
    """Who changed what about a commune's membership, when and why."""

    __tablename__ = "mel_commune_history"

    id: Mapped[int] = sa.Column(sa.Integer, primary_key=True)  # type: ignore[assignment]
    organization_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("group.id", ondelete="CASCADE"), nullable=False
    )  # type: ignore[assignment]
    action: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    timestamp: Mapped[datetime.datetime] = sa.Column(
        sa.DateTime, nullable=False, default=datetime.datetime.utcnow
    )  # type: ignore[assignment]
    user_id: Mapped[str | None] = sa.Column(sa.UnicodeText)  # type: ignore[assignment]
    reason: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False, default="")  # type: ignore[assignment]
    data: Mapped[dict[str, Any]] = sa.Column(ckan_types.JsonDictType, nullable=False, default=dict)  # type: ignore[assignment]

    __table_args__ = (sa.Index("idx_mel_commune_history_org", "organization_id", "timestamp"),)


class Quota(BaseModel):  # type: ignore[valid-type, misc]
    """A maximum granted to one commune by MEL staff, over ckanext.mel.quota.max."""

    __tablename__ = "mel_quota"

    organization_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("group.id", ondelete="CASCADE"), primary_key=True
    )  # type: ignore[assignment]
    maximum: Mapped[int] = sa.Column(sa.Integer, nullable=False)  # type: ignore[assignment]


# A validation report's status (validation.py checks the files).
PENDING, VALID, INVALID, ERROR = "pending", "valid", "invalid", "error"


class ValidationReport(BaseModel):  # type: ignore[valid-type, misc]
    """The last check of one resource against its dataset's data model."""

    __tablename__ = "mel_validation_report"

    resource_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )  # type: ignore[assignment]
    package_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("package.id", ondelete="CASCADE"), nullable=False, index=True
    )  # type: ignore[assignment]
    status: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    data_model: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    fingerprint: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    created: Mapped[datetime.datetime] = sa.Column(sa.DateTime, nullable=False)  # type: ignore[assignment]
    finished: Mapped[datetime.datetime | None] = sa.Column(sa.DateTime)  # type: ignore[assignment]
    report: Mapped[dict[str, Any]] = sa.Column(ckan_types.JsonDictType, nullable=False, default=dict)  # type: ignore[assignment]
    # Whether this report's failure unpublished the dataset (ckanext.mel.validation.block_invalid).
    blocked: Mapped[bool] = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())  # type: ignore[assignment]

    @classmethod
    def get(cls, resource_id: str) -> ValidationReport | None:
        return model.Session.get(cls, resource_id)

    @classmethod
    def for_package(cls, package_id: str) -> list[ValidationReport]:
        return model.Session.query(cls).filter(cls.package_id == package_id).all()

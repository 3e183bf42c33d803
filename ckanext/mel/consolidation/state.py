"""Where each data model's metropolitan dataset stands: one row per model."""

from __future__ import annotations

import datetime
from typing import Any

import sqlalchemy as sa
from ckan import model
from ckan.model import types as ckan_types
from ckan.model.base import BaseModel
from sqlalchemy.orm import Mapped


class Consolidation(BaseModel):  # type: ignore[valid-type, misc]
    """The last consolidation of one data model: its dataset, resources and sources."""

    __tablename__ = "mel_consolidation"

    data_model: Mapped[str] = sa.Column(sa.UnicodeText, primary_key=True)  # type: ignore[assignment]
    package_id: Mapped[str | None] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("package.id", ondelete="SET NULL")
    )  # type: ignore[assignment]
    # The consolidated CSV file and the DataStore table with the rows' provenance.
    file_resource_id: Mapped[str | None] = sa.Column(sa.UnicodeText)  # type: ignore[assignment]
    table_resource_id: Mapped[str | None] = sa.Column(sa.UnicodeText)  # type: ignore[assignment]
    rows: Mapped[int] = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")  # type: ignore[assignment]
    # Each contributing file: its commune, dataset, resource, date and rows kept.
    sources: Mapped[list[dict[str, Any]] | None] = sa.Column(ckan_types.JsonType, default=list)  # type: ignore[assignment]
    # The public files in this model that are not valid, hence left out. (JsonType stores [] and {} as NULL.)
    invalid: Mapped[list[dict[str, Any]] | None] = sa.Column(ckan_types.JsonType, default=list)  # type: ignore[assignment]
    # Since when each commune (organisation id) contributes, kept across builds.
    since: Mapped[dict[str, str] | None] = sa.Column(ckan_types.JsonType, default=dict)  # type: ignore[assignment]
    built: Mapped[datetime.datetime | None] = sa.Column(sa.DateTime)  # type: ignore[assignment]
    seconds: Mapped[float | None] = sa.Column(sa.Float)  # type: ignore[assignment]
    error: Mapped[str | None] = sa.Column(sa.UnicodeText)  # type: ignore[assignment]

    @classmethod
    def get(cls, data_model: str) -> Consolidation | None:
        return model.Session.get(cls, data_model)

    @classmethod
    def all(cls) -> list[Consolidation]:
        return model.Session.query(cls).order_by(cls.data_model).all()

    @classmethod
    def for_resource(cls, resource_id: str) -> Consolidation | None:
        return (
            model.Session.query(cls)
            .filter(sa.or_(cls.file_resource_id == resource_id, cls.table_resource_id == resource_id))
            .first()
        )

    @classmethod
    def for_package(cls, package_id: str) -> Consolidation | None:
        return model.Session.query(cls).filter(cls.package_id == package_id).first()

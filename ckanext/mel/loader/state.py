"""Where each resource's DataStore table stands: one row per resource the loader handles."""

from __future__ import annotations

import datetime
from types import EllipsisType

import sqlalchemy as sa
from ckan import model
from ckan.model.base import BaseModel
from sqlalchemy.orm import Mapped

# pending: queued; loading: the job is writing it; loaded: the data is in the API;
# error: the load failed (nothing is served); removed: the file is no longer
# valid, its data was taken out of the API.
PENDING, LOADING, LOADED, ERROR, REMOVED = "pending", "loading", "loaded", "error", "removed"


class DatastoreLoad(BaseModel):  # type: ignore[valid-type, misc]
    """The last load of one resource's file into the DataStore."""

    __tablename__ = "mel_datastore_load"

    resource_id: Mapped[str] = sa.Column(
        sa.UnicodeText, sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )  # type: ignore[assignment]
    status: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    data_model: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    # The validation report's fingerprint (file, link and model) this load is for.
    fingerprint: Mapped[str] = sa.Column(sa.UnicodeText, nullable=False)  # type: ignore[assignment]
    rows: Mapped[int] = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")  # type: ignore[assignment]
    created: Mapped[datetime.datetime] = sa.Column(sa.DateTime, nullable=False)  # type: ignore[assignment]
    finished: Mapped[datetime.datetime | None] = sa.Column(sa.DateTime)  # type: ignore[assignment]
    error: Mapped[str | None] = sa.Column(sa.UnicodeText)  # type: ignore[assignment]

    @classmethod
    def get(cls, resource_id: str) -> DatastoreLoad | None:
        return model.Session.get(cls, resource_id)

    @classmethod
    def put(
        cls,
        resource_id: str,
        status: str,
        data_model: str,
        fingerprint: str,
        current: DatastoreLoad | None | EllipsisType = ...,
    ) -> DatastoreLoad:
        """The resource's load state set. `current` is its state as the caller has just read it
        (None: it has none), which spares a query; by default it is read here."""
        state = cls.get(resource_id) if current is ... else current
        if state is None:
            state = cls(resource_id=resource_id, rows=0)
            model.Session.add(state)
        now = datetime.datetime.utcnow()
        state.status, state.data_model, state.fingerprint = status, data_model, fingerprint
        if status in (PENDING, LOADING) or state.created is None:
            state.created = now
        state.finished = None if status in (PENDING, LOADING) else now
        if status != ERROR:
            state.error = None
        return state

"""Template helpers for the reuses' snippets on the dataset page, Ma commune and the console."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.mel import reuses

SHOWN = 20


def _published(**filters: str | None) -> dict[str, Any]:
    return tk.get_action("mel_reuse_list")({}, {**filters, "rows": SHOWN})


def mel_dataset_reuses(dataset_id: str) -> dict[str, Any]:
    """The published reuses of a dataset: {count, results}."""
    return _published(dataset=dataset_id)


def mel_commune_reuses(organization_name: str) -> dict[str, Any]:
    """The published reuses of a commune's data (or the MEL's)."""
    return _published(commune=organization_name)


def mel_reuse_counts() -> dict[str, int]:
    return tk.get_action("mel_reuse_counts")({}, {})


def mel_reuse_type_label(value: str | None) -> str:
    return dict(reuses.reuse_types()).get(value or "", value or "")


def mel_reuse_producer_label(value: str | None) -> str:
    return dict(reuses.producer_kinds()).get(value or "", value or "")


def mel_reuse_status_label(value: str | None) -> str:
    return reuses.status_label(value)


def mel_reuse_types() -> list[tuple[str, str]]:
    return reuses.reuse_types()


def mel_reuse_log_label(action: str | None) -> str:
    return {
        reuses.PROPOSED: tk._("Proposed"),
        reuses.PUBLISHED: tk._("Published"),
        reuses.REFUSED: tk._("Refused"),
    }.get(action or "", action or "")

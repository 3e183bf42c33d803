"""`ckan mel consolidate [MODEL]`: rebuild metropolitan datasets by hand, with a progress bar."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
import click

from ckanext.mel import datamodels


def _consolidate(model_id: str) -> Any:
    """One model, with a progress bar over the rows expected (the sources' rows)."""
    from ckanext.mel.consolidation import build, jobs

    bar: Any = None

    def progress(done: int, expected: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=max(expected, done, 1), label=model_id, show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        with jobs.model_lock(model_id):
            return build.consolidate(model_id, progress)
    except tk.ObjectNotFound as error:
        raise click.ClickException(str(error)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def run(model_id: str | None) -> None:
    if model_id is not None and datamodels.get(model_id) is None:
        known = ", ".join(m.id for m in datamodels.all_models())
        raise click.BadParameter(f"unknown data model {model_id!r} (one of: {known})", param_hint="MODEL")
    wanted = [m for m in datamodels.all_models() if model_id in (None, m.id)]
    for data_model in wanted:
        state = _consolidate(data_model.id)
        if state is None:
            click.echo(f"{data_model.id}: no commune publishes a valid public file in this model")
            continue
        sources = state.sources or []
        communes = len({s["organization_id"] for s in sources})
        package = tk.get_action("package_show")({"ignore_auth": True}, {"id": state.package_id})
        click.secho(
            f"{data_model.id}: {state.rows} rows from {len(sources)} file(s) of {communes} commune(s)"
            f" in {state.seconds:.1f} s → /dataset/{package['name']}",
            fg="green",
        )

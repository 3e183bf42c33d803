"""Alembic environment of the mel plugin: its own version table, its own tables."""

from logging.config import fileConfig

from alembic import context
from ckan.model.meta import metadata
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name)

PLUGIN = "mel"


def include_object(object, object_name, type_, reflected, compare_to):
    return type_ != "table" or object_name.startswith(f"{PLUGIN}_")


def _configure(**kwargs):
    context.configure(
        target_metadata=metadata,
        version_table=f"{PLUGIN}_alembic_version",
        include_object=include_object,
        **kwargs,
    )


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()

"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portfolio.extensions import db


def test_migrations_match_models(app):
    # The session fixture built the schema with `flask db upgrade`.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_single_head():
    import os

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    import portfolio

    cfg = Config()
    cfg.set_main_option(
        "script_location", os.path.join(os.path.dirname(portfolio.__file__), "migrations")
    )
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"

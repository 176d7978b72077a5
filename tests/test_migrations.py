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


def test_entry_data_becomes_jsonb_and_keeps_every_field(tmp_path):
    """e5b1d7c3a9f2: on PostgreSQL entry.data turns JSONB; every field stays, a U+0000 that
    an old import may have stored (JSONB cannot hold it) is dropped from its text alone;
    and back. On SQLite nothing changes."""
    import json

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from portfolio import accounts, create_app
    from portfolio.models import Entry, Role
    from tests.support.database import separate_database_url

    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": separate_database_url(tmp_path, "bwp_migrate_jsonb"),
            "SECRET_KEY": "x" * 32,
        }
    )
    content = {"company": "Bäckerei Öz", "end": "2026-02-13", "tasks": ["Teig", "Kasse"], "n": 3}
    with other.app_context():
        try:
            upgrade()
            school = accounts.create_school("Altschule", "177777", "Realschule", "Olpe")
            pupil, _pw = accounts.create_user(
                school, roles=[Role.PUPIL], first_name="Ali", last_name="Alt"
            )
            db.session.add(
                Entry(school_id=school.id, pupil_id=pupil.id, kind="praktikum", data=content)
            )
            db.session.commit()
            ids = school.id, pupil.id
            db.session.close()  # no open transaction may hold locks while the column changes
            downgrade(revision="e5b1d7c3a9f2-1")
            nul = {"reality": "a\x00b", "learned": "viel"}
            with db.engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO entry (school_id, pupil_id, kind, title, data, status,"
                        " review_state, share_class_teacher, share_stubo, share_counsellor,"
                        " share_guardians, asked_class_teacher, asked_stubo, asked_counsellor,"
                        " version, copy_no, created_at, updated_at, edited_at)"
                        " VALUES (:school, :pupil, 'reflection', 'alt', :data, 'in_progress',"
                        " 'none', false, false, false, false, false, false, false, 1, 0,"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"school": ids[0], "pupil": ids[1], "data": json.dumps(nul)},
                )
            upgrade()
            rows = dict(db.session.execute(sa.select(Entry.kind, Entry.data)).all())
            assert rows["praktikum"] == content
            postgres = db.engine.dialect.name == "postgresql"
            assert rows["reflection"] == {
                "reality": "ab" if postgres else "a\x00b",
                "learned": "viel",
            }
            end = db.session.scalar(
                sa.select(Entry.data["end"].as_string()).where(Entry.kind == "praktikum")
            )
            assert end == "2026-02-13"
            if postgres:
                kind = db.session.scalar(
                    sa.text(
                        "SELECT data_type FROM information_schema.columns"
                        " WHERE table_name = 'entry' AND column_name = 'data'"
                    )
                )
                assert kind == "jsonb"
            db.session.close()
            downgrade(revision="e5b1d7c3a9f2-1")
            with db.engine.connect() as conn:
                texts = conn.execute(
                    sa.text("SELECT data FROM entry WHERE kind = 'praktikum'")
                ).scalar()
            assert (json.loads(texts) if isinstance(texts, str) else texts) == content
        finally:
            db.session.remove()
            db.engine.dispose()


def test_stored_steps_without_carried_are_computed_again(tmp_path):
    """d3a7c1e9f5b2: progress rows stored before the fifth field of `steps` are outdated
    after the upgrade (and after a downgrade, for the older code); the rows stay."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from portfolio import accounts, clock, create_app, progress_store
    from portfolio.models import ProgressSummary, Role
    from tests.support.database import separate_database_url

    other = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": separate_database_url(tmp_path, "bwp_migrate_carried"),
            "SECRET_KEY": "x" * 32,
        }
    )
    with other.app_context():
        try:
            upgrade()
            school = accounts.create_school("Altschule", "177778", "Realschule", "Olpe")
            year = accounts.current_year(school)
            cls = accounts.get_or_create_class(school, "9a", year, grade="9")
            pupil, _pw = accounts.create_user(
                school, roles=[Role.PUPIL], first_name="Ali", last_name="Alt"
            )
            accounts.put_in_class(pupil, cls)
            db.session.commit()
            ids = school.id, pupil.id
            db.session.close()
            downgrade(revision="d3a7c1e9f5b2-1")
            with db.engine.begin() as conn:  # as the older code stored it: four fields
                assert conn.scalar(sa.text("SELECT count(*) FROM progress_summary")) == 1
                conn.execute(
                    sa.text(
                        "UPDATE progress_summary SET version = 3, day = :day, grade = '9',"
                        " steps = '1:0:not_started:0' WHERE pupil_id = :pupil"
                    ),
                    {"pupil": ids[1], "day": clock.today()},
                )
            upgrade()
            row = db.session.get(ProgressSummary, ids[1])
            assert (row.day, row.version, row.steps) == (None, 3, "1:0:not_started:0")
            db.session.close()
            progress_store.stored(ids[0], [ids[1]])  # the next reader computes it again
            db.session.commit()
            row = db.session.get(ProgressSummary, ids[1])
            assert row.day == clock.today()
            assert all(len(token.split(":")) == 5 for token in row.steps.split())
            db.session.close()
            downgrade(revision="d3a7c1e9f5b2-1")
            with db.engine.connect() as conn:
                day = conn.scalar(sa.text("SELECT day FROM progress_summary"))
            assert day is None
        finally:
            db.session.remove()
            db.engine.dispose()

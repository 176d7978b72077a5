"""audit log append-only trigger

Revision ID: 46ab04124e6f
Revises: e317255ef7e9
Create Date: 2026-11-28 12:35:27.199252

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "46ab04124e6f"
down_revision = "e317255ef7e9"
branch_labels = None
depends_on = None


# PostgreSQL: the database itself refuses to change or delete audit rows, whoever asks
# (the app's model guard covers SQLite). TRUNCATE, used only by the test suite and by an
# operator deliberately resetting a database, is not a row operation and stays possible.
# Nothing in the app deletes audit rows: the purge job adds a "purge" event and keeps the
# earlier ones, which hold who looked and when but no content (docs/data-lifecycle.md).


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'The audit log is append-only (% on audit_event refused).', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE TRIGGER audit_event_append_only
        BEFORE UPDATE OR DELETE ON audit_event
        FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")

"""The partial index `ix_entry_open_items`: the entries that can be open items of the staff
lists (placements, goals, entries waiting for feedback), per school and pupil.

The class overview and the caseload count open items over a whole class or caseload; they
read these rows (about a quarter of a school's entries) instead of every entry of the
school. The condition is `models.portfolio.Entry.may_be_open_item`, written out here as a
migration keeps what it did when the models change.

Revision ID: c8d2f6a4e1b7
Revises: e5b1d7c3a9f2
Create Date: 2026-12-09 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c8d2f6a4e1b7"
down_revision = "e5b1d7c3a9f2"
branch_labels = None
depends_on = None

WHERE = "kind IN ('praktikum', 'goal') OR review_state = 'requested'"


def upgrade():
    op.create_index(
        "ix_entry_open_items",
        "entry",
        ["school_id", "pupil_id"],
        unique=False,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade():
    op.drop_index("ix_entry_open_items", table_name="entry")

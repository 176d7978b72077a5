"""stored progress figures for the staff lists

Revision ID: 4c2e8f1a9b63
Revises: dfd3004dead6
Create Date: 2026-12-04 20:40:00

`progress_summary`: one row per pupil with her current grade's figure and steps as
portfolio/progress.py computes them, valid for one day, invalidated by every write that
can change them (portfolio/progress_store.py). The table starts empty: rows are computed
when a list first needs them (or by `flask progress refresh`), so no data is touched.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4c2e8f1a9b63"
down_revision = "dfd3004dead6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "progress_summary",
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("in_progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_steps", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unsigned_agreement", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("due", sa.Text(), server_default="", nullable=False),
        sa.Column("documented", sa.Text(), server_default="", nullable=False),
        sa.Column("steps", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["user_account.id"],
            name=op.f("fk_progress_summary_pupil_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_progress_summary_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pupil_id", name=op.f("pk_progress_summary")),
    )
    with op.batch_alter_table("progress_summary", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_summary_school_id"), ["school_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("progress_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_summary_school_id"))
    op.drop_table("progress_summary")

"""The stored steps of `progress_summary` name whether a step is carried (a fifth field):
the class overview draws its cells from the stored rows instead of the progress model.

Rows stored before say nothing about it, so every row is made outdated (`day` NULL): the
next reader, or the night's refresh, computes it again. The rows are figures derived from
the portfolio; nothing is lost. Downgrading does the same, as the older code reads four
fields only.

Revision ID: d3a7c1e9f5b2
Revises: c8d2f6a4e1b7
Create Date: 2026-12-10 00:00:00.000000
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d3a7c1e9f5b2"
down_revision = "c8d2f6a4e1b7"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE progress_summary SET day = NULL")


def downgrade():
    op.execute("UPDATE progress_summary SET day = NULL")

"""page_generation: rows of which every writing transaction changes one, so that app
processes may keep whole pages in memory while nothing was written (portfolio/pagecache.py).

The table starts empty: the first write after the upgrade makes a row, and until then no
page is kept. Downgrading drops it; nothing of the portfolio is in it.

Revision ID: f2b8d4a6c3e1
Revises: d3a7c1e9f5b2
Create Date: 2026-12-11 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2b8d4a6c3e1"
down_revision = "d3a7c1e9f5b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "page_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_generation")),
    )


def downgrade():
    op.drop_table("page_generation")

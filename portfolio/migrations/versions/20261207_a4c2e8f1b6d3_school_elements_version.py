"""school.elements_version: changes with every change of the school's standard elements,
so that app processes may keep the elements they read (portfolio/progress.py)

Revision ID: a4c2e8f1b6d3
Revises: 4c2e8f1a9b63
Create Date: 2026-12-07 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a4c2e8f1b6d3"
down_revision = "4c2e8f1a9b63"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("elements_version", sa.String(length=32), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("school", schema=None) as batch_op:
        batch_op.drop_column("elements_version")

"""guidance records: the pupil shares a record with the counsellor

Revision ID: 665f1dc7ed0c
Revises: 5c1f0a7d2b9e
Create Date: 2026-12-04 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "665f1dc7ed0c"
down_revision = "5c1f0a7d2b9e"
branch_labels = None
depends_on = None


# Existing records start unshared: a counsellor keeps reading the records they wrote
# (access.py), and records written by the school reach them only once the pupil shares
# them. Before, every counsellor read every record; that was the fault being fixed.


def upgrade():
    with op.batch_alter_table("guidance_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("share_counsellor", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("guidance_record", schema=None) as batch_op:
        batch_op.drop_column("share_counsellor")

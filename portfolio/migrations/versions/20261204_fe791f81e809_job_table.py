"""job table: background jobs (class ZIPs, take-away packages, login slips)

Revision ID: fe791f81e809
Revises: 46ab04124e6f
Create Date: 2026-12-04 13:59:13.872704

"""

import sqlalchemy as sa
from alembic import op

import portfolio.models.base

# revision identifiers, used by Alembic.
revision = "fe791f81e809"
down_revision = "46ab04124e6f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=160), nullable=True),
        sa.Column("created_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_key", sa.String(length=80), nullable=True),
        sa.Column("result_name", sa.String(length=200), nullable=True),
        sa.Column("result_size", sa.Integer(), nullable=True),
        sa.Column("expires_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error_params", sa.JSON(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["user_account.id"],
            name=op.f("fk_job_pupil_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_job_school_id_school"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_job_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_school_id"), ["school_id"], unique=False)
        batch_op.create_index("ix_job_state_heartbeat", ["state", "heartbeat_at"], unique=False)
        batch_op.create_index("ix_job_user_created", ["user_id", "created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_user_created")
        batch_op.drop_index("ix_job_state_heartbeat")
        batch_op.drop_index(batch_op.f("ix_job_school_id"))
        batch_op.drop_index(batch_op.f("ix_job_pupil_id"))

    op.drop_table("job")

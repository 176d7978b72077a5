"""imported packages and the history they brought (signatures, comments, reviews)

Revision ID: b7c3e9a1d2f4
Revises: 3d8a6f2c1b57
Create Date: 2026-12-06 10:00:00

Portfolios imported before this revision keep what they were imported with (their
signatures and comments stay rows of the school's tables): nothing is known about
their packages any more.
"""

import sqlalchemy as sa
from alembic import op

import portfolio.models.base

# revision identifiers, used by Alembic.
revision = "b7c3e9a1d2f4"
down_revision = "3d8a6f2c1b57"
branch_labels = None
depends_on = None

UTC = portfolio.models.base.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "imported_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("format_version", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("source_school", sa.String(length=200), nullable=False),
        sa.Column("source_schulnummer", sa.String(length=20), nullable=True),
        sa.Column("made_by_role", sa.String(length=20), nullable=True),
        sa.Column("made_by_name", sa.String(length=200), nullable=True),
        sa.Column("exported_at", UTC, nullable=True),
        sa.Column("imported_at", UTC, nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_imported_package_imported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["user_account.id"],
            name=op.f("fk_imported_package_pupil_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_imported_package_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_package")),
        sa.UniqueConstraint(
            "school_id", "content_sha256", name="uq_imported_package_content_sha256"
        ),
        sa.UniqueConstraint("school_id", "package_id", name="uq_imported_package_package_id"),
    )
    with op.batch_alter_table("imported_package", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imported_package_pupil_id"), ["pupil_id"])
        batch_op.create_index(batch_op.f("ix_imported_package_school_id"), ["school_id"])

    op.create_table(
        "imported_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_row_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("agreement_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("happened_at", UTC, nullable=True),
        sa.Column("source_school", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreement.id"],
            name=op.f("fk_imported_record_agreement_id_agreement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entry.id"],
            name=op.f("fk_imported_record_entry_id_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_row_id"],
            ["imported_package.id"],
            name=op.f("fk_imported_record_package_row_id_imported_package"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"],
            ["user_account.id"],
            name=op.f("fk_imported_record_pupil_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["school.id"],
            name=op.f("fk_imported_record_school_id_school"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_record")),
    )
    with op.batch_alter_table("imported_record", schema=None) as batch_op:
        for column in ("agreement_id", "entry_id", "package_row_id", "pupil_id", "school_id"):
            batch_op.create_index(batch_op.f(f"ix_imported_record_{column}"), [column])


def downgrade():
    with op.batch_alter_table("imported_record", schema=None) as batch_op:
        for column in ("agreement_id", "entry_id", "package_row_id", "pupil_id", "school_id"):
            batch_op.drop_index(batch_op.f(f"ix_imported_record_{column}"))
    op.drop_table("imported_record")
    with op.batch_alter_table("imported_package", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imported_package_school_id"))
        batch_op.drop_index(batch_op.f("ix_imported_package_pupil_id"))
    op.drop_table("imported_package")

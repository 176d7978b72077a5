"""notifications by e-mail: who a notice is about, its document, when it was mailed;
a user's confirmed address and mail choice

Revision ID: 7b3e9c41d2a8
Revises: 665f1dc7ed0c
Create Date: 2026-12-05 09:12:44.120331

Existing notices get the pupil they are about (the entry's pupil, else the pupil who
reads them) and count as mailed: they happened before there was e-mail, and nobody
should get a mail about last month's comment when they first confirm an address.
"""

import sqlalchemy as sa
from alembic import op

import portfolio.models.base

# revision identifiers, used by Alembic.
revision = "7b3e9c41d2a8"
down_revision = "665f1dc7ed0c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "email_confirmed_at",
                portfolio.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("mail_frequency", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column(
                "mail_digest_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "mail_lock_until", portfolio.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pupil_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("document_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("mailed_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_notification_pupil_id"), ["pupil_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_pupil_id_user_account"),
            "user_account",
            ["pupil_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_document_id_document"),
            "document",
            ["document_id"],
            ["id"],
            ondelete="CASCADE",
        )

    op.execute(
        "UPDATE notification SET pupil_id = "
        "(SELECT entry.pupil_id FROM entry WHERE entry.id = notification.entry_id) "
        "WHERE entry_id IS NOT NULL"
    )
    op.execute(
        "UPDATE notification SET pupil_id = user_id WHERE pupil_id IS NULL AND EXISTS "
        "(SELECT 1 FROM user_role WHERE user_role.user_id = notification.user_id "
        "AND user_role.role = 'pupil')"
    )
    op.execute("UPDATE notification SET mailed_at = created_at")


def downgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notification_document_id_document"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_notification_pupil_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_notification_pupil_id"))
        batch_op.drop_column("mailed_at")
        batch_op.drop_column("document_id")
        batch_op.drop_column("pupil_id")

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("mail_lock_until")
        batch_op.drop_column("mail_digest_at")
        batch_op.drop_column("mail_frequency")
        batch_op.drop_column("email_confirmed_at")

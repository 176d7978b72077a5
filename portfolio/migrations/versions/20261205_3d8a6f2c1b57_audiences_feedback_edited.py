"""audiences as the pupil knows them; whom feedback was asked of; the pupil's last edit

* entry/document.share_teachers ("class teacher, StuBO" in one) becomes two audiences,
  share_class_teacher and share_stubo. What was shared with the teachers stays shared with
  both: nobody loses what they could read, nobody gains anything.
* entry.asked_class_teacher / asked_stubo / asked_counsellor: whom the pupil asked for
  feedback. An entry handed in before asked "the teachers": both teacher audiences.
* entry.edited_at / agreement.edited_at: when the content was last changed ("last
  saved"), so that a review, a revision request, a signature or a change of sharing no
  longer moves it. Filled from updated_at, the best that is known.

Revision ID: 3d8a6f2c1b57
Revises: 7b3e9c41d2a8
Create Date: 2026-12-05 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import portfolio.models.base

revision = "3d8a6f2c1b57"
down_revision = "7b3e9c41d2a8"
branch_labels = None
depends_on = None

_FALSE = sa.false()


def _boolean(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=_FALSE)


def _split_teachers(table_name: str, *, asked: bool) -> None:
    with op.batch_alter_table(table_name) as batch:
        batch.add_column(_boolean("share_class_teacher"))
        batch.add_column(_boolean("share_stubo"))
        if asked:
            batch.add_column(_boolean("asked_class_teacher"))
            batch.add_column(_boolean("asked_stubo"))
            batch.add_column(_boolean("asked_counsellor"))
    table = sa.table(
        table_name,
        sa.column("share_teachers", sa.Boolean),
        sa.column("share_class_teacher", sa.Boolean),
        sa.column("share_stubo", sa.Boolean),
    )
    op.execute(
        table.update()
        .where(table.c.share_teachers.is_(True))
        .values(share_class_teacher=True, share_stubo=True)
    )
    if asked:
        entry = sa.table(
            "entry",
            sa.column("share_teachers", sa.Boolean),
            sa.column("review_state", sa.String),
            sa.column("asked_class_teacher", sa.Boolean),
            sa.column("asked_stubo", sa.Boolean),
        )
        op.execute(
            entry.update()
            .where(entry.c.share_teachers.is_(True), entry.c.review_state == "requested")
            .values(asked_class_teacher=True, asked_stubo=True)
        )
    with op.batch_alter_table(table_name) as batch:
        batch.drop_column("share_teachers")
        for name in ("share_class_teacher", "share_stubo") + (
            ("asked_class_teacher", "asked_stubo", "asked_counsellor") if asked else ()
        ):
            batch.alter_column(name, server_default=None)


def _edited_at(table_name: str) -> None:
    with op.batch_alter_table(table_name) as batch:
        batch.add_column(
            sa.Column("edited_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    table = sa.table(table_name, sa.column("edited_at"), sa.column("updated_at"))
    op.execute(table.update().values(edited_at=table.c.updated_at))
    with op.batch_alter_table(table_name) as batch:
        batch.alter_column(
            "edited_at",
            existing_type=portfolio.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )


def upgrade():
    _split_teachers("entry", asked=True)
    _split_teachers("document", asked=False)
    _edited_at("entry")
    _edited_at("agreement")


def _join_teachers(table_name: str, *, asked: bool) -> None:
    with op.batch_alter_table(table_name) as batch:
        batch.add_column(_boolean("share_teachers"))
    table = sa.table(
        table_name,
        sa.column("share_teachers", sa.Boolean),
        sa.column("share_class_teacher", sa.Boolean),
        sa.column("share_stubo", sa.Boolean),
    )
    # Shared with either teacher audience: the one teachers' audience of before.
    op.execute(
        table.update()
        .where(sa.or_(table.c.share_class_teacher.is_(True), table.c.share_stubo.is_(True)))
        .values(share_teachers=True)
    )
    with op.batch_alter_table(table_name) as batch:
        batch.alter_column("share_teachers", server_default=None)
        batch.drop_column("share_class_teacher")
        batch.drop_column("share_stubo")
        if asked:
            batch.drop_column("asked_class_teacher")
            batch.drop_column("asked_stubo")
            batch.drop_column("asked_counsellor")


def downgrade():
    with op.batch_alter_table("agreement") as batch:
        batch.drop_column("edited_at")
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("edited_at")
    _join_teachers("document", asked=False)
    _join_teachers("entry", asked=True)

"""submission keys; one entry per pupil of a single-entry kind

Revision ID: dfd3004dead6
Revises: b7c3e9a1d2f4
Create Date: 2026-12-04 10:00:00

Two changes that make a form submission count once (portfolio/transaction.py):

* `submission`: the key of every form submission that committed, with its outcome.
* `entry.copy_no` and the partial unique index `uq_entry_single_kind`: a pupil has at most
  one entry of each single-entry kind (CV, Potenzialanalyse ...), even when two saves race.

Pupils who already have two or more entries of such a kind (saved twice before this rule)
keep all of them: merging two CVs would guess which text is right, and dropping one loses
what the pupil typed. The oldest stays the entry (copy_no 0, the one the pupil's "new" link
opens); the others are numbered 1, 2 ... in the order they were made and stay visible on
the pupil's page, which asks the pupil to keep one. The index covers copy_no 0 only, so
these copies do not break it, and nothing made from now on gets a number above 0.
"""

import sqlalchemy as sa
from alembic import op

import portfolio.models.base

# revision identifiers, used by Alembic.
revision = "dfd3004dead6"
down_revision = "b7c3e9a1d2f4"
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when the code does): the kinds with
# `repeatable=False` in portfolio/kinds.py when this rule was made.
SINGLE_ENTRY_KINDS = (
    "potenzialanalyse",
    "berufsfelderkundung",
    "cv",
    "sek2_standort",
    "sek2_ek1",
    "sek2_ek2",
)
WHERE = "kind IN ({}) AND copy_no = 0".format(", ".join(f"'{k}'" for k in SINGLE_ENTRY_KINDS))


def upgrade():
    op.create_table(
        "submission",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portfolio.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_submission_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_submission")),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_submission_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("copy_no", sa.Integer(), server_default="0", nullable=False))

    _number_existing_copies()

    op.create_index(
        "uq_entry_single_kind",
        "entry",
        ["pupil_id", "kind"],
        unique=True,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def _number_existing_copies() -> None:
    """Number the second and later entries of a single-entry kind per pupil, oldest first."""
    bind = op.get_bind()
    entry = sa.table(
        "entry",
        sa.column("id", sa.Integer),
        sa.column("pupil_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("created_at", sa.DateTime),
        sa.column("copy_no", sa.Integer),
    )
    rows = bind.execute(
        sa.select(entry.c.id, entry.c.pupil_id, entry.c.kind)
        .where(entry.c.kind.in_(SINGLE_ENTRY_KINDS))
        .order_by(entry.c.pupil_id, entry.c.kind, entry.c.created_at, entry.c.id)
    ).all()
    seen: dict[tuple[int, str], int] = {}
    for entry_id, pupil_id, kind in rows:
        number = seen.get((pupil_id, kind), -1) + 1
        seen[(pupil_id, kind)] = number
        if number:
            bind.execute(sa.update(entry).where(entry.c.id == entry_id).values(copy_no=number))


def downgrade():
    op.drop_index("uq_entry_single_kind", table_name="entry")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_column("copy_no")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_user_id"))
        batch_op.drop_index(batch_op.f("ix_submission_created_at"))
    op.drop_table("submission")

"""progress schedule: half-years of standard elements and school years, who organises

Adds what the one progress model (portfolio/progress.py) needs:
* standard_element.half_year: the half-year of its first grade in which an element
  takes place (Potenzialanalyse 8/1, Berufsfelderkundung 8/2, Anschlussvereinbarung 9/2);
* standard_element.every_half_year: one step per half-year (Beratung);
* standard_element.school_organised: the school organises it (staff may know that the
  pupil took part) or it is the pupil's own work (strengths, goals, CV, study orientation);
* school_year.second_half_on: first day of the second half-year (NRW: 1 February).

Existing rows are filled from the defaults of the time (copied here, so that a later
change of portfolio/reference.py does not change what this migration does). The default
Anschlussvereinbarung gains Q1 ("updated in 10 and Q1") where a school still has the
old default grades "9,10".

Revision ID: 5c1f0a7d2b9e
Revises: fe791f81e809
Create Date: 2026-12-04 14:00:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "5c1f0a7d2b9e"
down_revision = "fe791f81e809"
branch_labels = None
depends_on = None

#: key -> (half_year, every_half_year, school_organised) of the default elements.
DEFAULTS = {
    "strengths": (None, False, False),
    "potenzialanalyse": (1, False, True),
    "berufsfelderkundung": (2, False, True),
    "praktikum": (None, False, True),
    "praxiskurs": (None, False, True),
    "langzeitpraktikum": (None, False, True),
    "beratung": (None, True, True),
    "ziele": (None, False, False),
    "anschlussvereinbarung": (2, False, True),
    "lebenslauf": (None, False, False),
    "sek2_standort": (None, False, True),
    "sek2_ek1": (None, False, True),
    "sek2_praxis": (None, False, True),
    "sek2_ek2": (None, False, True),
    "studienorientierung": (None, False, False),
}

element = sa.table(
    "standard_element",
    sa.column("key", sa.String),
    sa.column("grades", sa.String),
    sa.column("half_year", sa.Integer),
    sa.column("every_half_year", sa.Boolean),
    sa.column("school_organised", sa.Boolean),
)
school_year = sa.table(
    "school_year",
    sa.column("id", sa.Integer),
    sa.column("starts_on", sa.Date),
    sa.column("second_half_on", sa.Date),
)


def upgrade():
    with op.batch_alter_table("standard_element", schema=None) as batch_op:
        batch_op.add_column(sa.Column("half_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("every_half_year", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("school_organised", sa.Boolean(), nullable=True))
    with op.batch_alter_table("school_year", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_half_on", sa.Date(), nullable=True))

    conn = op.get_bind()
    conn.execute(element.update().values(every_half_year=False, school_organised=True))
    for key, (half, every, organised) in DEFAULTS.items():
        conn.execute(
            element.update()
            .where(element.c.key == key)
            .values(half_year=half, every_half_year=every, school_organised=organised)
        )
    conn.execute(
        element.update()
        .where(element.c.key == "anschlussvereinbarung", element.c.grades == "9,10")
        .values(grades="9,10,Q1")
    )
    for year_id, starts_on in conn.execute(sa.select(school_year.c.id, school_year.c.starts_on)):
        conn.execute(
            school_year.update()
            .where(school_year.c.id == year_id)
            .values(second_half_on=dt.date(starts_on.year + 1, 2, 1))
        )

    with op.batch_alter_table("standard_element", schema=None) as batch_op:
        batch_op.alter_column("every_half_year", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("school_organised", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("school_year", schema=None) as batch_op:
        batch_op.alter_column("second_half_on", existing_type=sa.Date(), nullable=False)


def downgrade():
    op.get_bind().execute(
        element.update()
        .where(element.c.key == "anschlussvereinbarung", element.c.grades == "9,10,Q1")
        .values(grades="9,10")
    )
    with op.batch_alter_table("school_year", schema=None) as batch_op:
        batch_op.drop_column("second_half_on")
    with op.batch_alter_table("standard_element", schema=None) as batch_op:
        batch_op.drop_column("school_organised")
        batch_op.drop_column("every_half_year")
        batch_op.drop_column("half_year")

"""entry.data as JSONB on PostgreSQL: the class overview reads single fields of the
placements and goals of a whole class; JSON parsed the text again for every field.

SQLite keeps JSON (nothing changes there). JSONB cannot hold the character U+0000: the
few strings that contain it (no form accepts it; an old import might have) lose it first.

Revision ID: e5b1d7c3a9f2
Revises: a4c2e8f1b6d3
Create Date: 2026-12-08 00:00:00.000000
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5b1d7c3a9f2"
down_revision = "a4c2e8f1b6d3"
branch_labels = None
depends_on = None


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    rows = bind.execute(
        sa.text("SELECT id, data::text FROM entry WHERE strpos(data::text, '\\u0000') > 0")
    ).all()
    for entry_id, text in rows:
        cleaned = json.dumps(_without_nul(json.loads(text)), ensure_ascii=False)
        bind.execute(
            sa.text("UPDATE entry SET data = CAST(:data AS json) WHERE id = :id"),
            {"data": cleaned, "id": entry_id},
        )
    op.execute("ALTER TABLE entry ALTER COLUMN data TYPE jsonb USING data::jsonb")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE entry ALTER COLUMN data TYPE json USING data::json")

"""Research leases: one replica researches a new domain while the others wait for its result.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "enrichment"


def upgrade() -> None:
    op.create_table(
        "research_leases",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("research_leases", schema=SCHEMA)

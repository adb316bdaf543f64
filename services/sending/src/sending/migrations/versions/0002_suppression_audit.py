"""Suppression audit: who added or removed an entry, and why.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "sending"


def upgrade() -> None:
    op.create_table(
        "suppression_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("action IN ('added', 'removed')", name="ck_suppression_audit_action"),
        schema=SCHEMA,
    )
    op.create_index("ix_suppression_audit_value", "suppression_audit", ["value"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("suppression_audit", schema=SCHEMA)

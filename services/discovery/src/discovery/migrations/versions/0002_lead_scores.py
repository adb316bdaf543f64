"""Lead score breakdown, and the company domain and name key that find the same person at two addresses.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "discovery"


def upgrade() -> None:
    op.add_column("leads", sa.Column("score_breakdown", postgresql.JSONB()), schema=SCHEMA)
    op.add_column("leads", sa.Column("company_domain", sa.Text()), schema=SCHEMA)
    op.add_column("leads", sa.Column("name_key", sa.Text()), schema=SCHEMA)
    op.create_index("ix_leads_campaign_id_company_domain", "leads", ["campaign_id", "company_domain"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_leads_campaign_id_company_domain", table_name="leads", schema=SCHEMA)
    for column in ("name_key", "company_domain", "score_breakdown"):
        op.drop_column("leads", column, schema=SCHEMA)

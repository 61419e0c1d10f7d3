"""login state: session generation and failed-login lock for operators and staff

Revision ID: b41d2e7a9c10
Revises: 9c8860bd5cca
Create Date: 2026-11-27 18:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b41d2e7a9c10'
down_revision = '9c8860bd5cca'
branch_labels = None
depends_on = None

TABLES = ("operator", "staff")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("session_version", sa.Integer(), server_default="0",
                                       nullable=False))
        op.add_column(table, sa.Column("failed_logins", sa.Integer(), server_default="0",
                                       nullable=False))
        op.add_column(table, sa.Column("locked_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("locked_until")
            batch.drop_column("failed_logins")
            batch.drop_column("session_version")

"""unit information columns 单位信息变更 may change: 隶属关系, 经济类型, 行业, 发薪日

Revision ID: info01b3d5e7
Revises: money01a4b7c2
Create Date: 2026-12-07 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'info01b3d5e7'
down_revision = 'money01a4b7c2'
branch_labels = None
depends_on = None

COLUMNS = (("affiliation", 40), ("economic_type", 40), ("industry", 60), ("pay_day", 2))


def upgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=False,
                                       server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('unit') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)

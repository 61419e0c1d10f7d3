"""lean history: element names come from the pinned definition, task ids only on human
tasks' events (a finished application stores under 4 KB)

Revision ID: f1b2c3d4e5f6
Revises: e5a0c9b31d42
Create Date: 2026-11-29 23:33:57
"""
import sqlalchemy as sa
from alembic import op

revision = 'f1b2c3d4e5f6'
down_revision = 'e5a0c9b31d42'
branch_labels = None
depends_on = None

def upgrade() -> None:
    # Events of the workflow's own steps: their task ids named no human task.
    op.execute(sa.text("UPDATE history_event SET task_id = NULL WHERE type IN "
                       "('started', 'completed', 'message', 'timer', 'ended')"))
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_column('element_name')


def downgrade() -> None:
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('element_name', sa.VARCHAR(length=100), nullable=True))

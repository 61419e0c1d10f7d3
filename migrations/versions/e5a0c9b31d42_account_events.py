"""account events: 账户状态变更记录 (开户, 封存, 启封, 转入, 转出)

Revision ID: e5a0c9b31d42
Revises: docs01a7c3e5
Create Date: 2026-11-29 23:31:44.296602
"""
import sqlalchemy as sa
from alembic import op

revision = 'e5a0c9b31d42'
down_revision = 'docs01a7c3e5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person_account_id', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=4), nullable=True),
    sa.Column('from_status', sa.String(length=2), nullable=True),
    sa.Column('to_status', sa.String(length=2), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=40), nullable=False),
    sa.Column('actor_name', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_account_id'], ['person_account.id'], name=op.f('fk_account_event_person_account_id_person_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_account_event_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_event'))
    )
    with op.batch_alter_table('account_event', schema=None) as batch_op:
        batch_op.create_index('ix_account_event_person', ['person_account_id', 'month'], unique=False)
        batch_op.create_index('ix_account_event_unit_at', ['unit_id', 'at'], unique=False)
        batch_op.create_index('ux_account_event_seal_month', ['person_account_id', 'month'], unique=True, sqlite_where=sa.text("change IN ('seal', 'unseal')"), postgresql_where=sa.text("change IN ('seal', 'unseal')"))



def downgrade() -> None:
    with op.batch_alter_table('account_event', schema=None) as batch_op:
        batch_op.drop_index('ux_account_event_seal_month', sqlite_where=sa.text("change IN ('seal', 'unseal')"), postgresql_where=sa.text("change IN ('seal', 'unseal')"))
        batch_op.drop_index('ix_account_event_unit_at')
        batch_op.drop_index('ix_account_event_person')

    op.drop_table('account_event')

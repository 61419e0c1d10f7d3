"""one account not closed per person: 缴存人登记 cannot open a second one, even racing

Revision ID: reg01a3f9c2d1
Revises: info01b3d5e7
Create Date: 2026-12-07 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'reg01a3f9c2d1'
down_revision = 'info01b3d5e7'
branch_labels = None
depends_on = None

NOT_CLOSED = "status NOT IN ('03', '04', '05')"


def upgrade() -> None:
    with op.batch_alter_table('person_account', schema=None) as batch_op:
        batch_op.create_index('ux_person_account_one_open', ['person_id'], unique=True,
                              sqlite_where=sa.text(NOT_CLOSED),
                              postgresql_where=sa.text(NOT_CLOSED))


def downgrade() -> None:
    with op.batch_alter_table('person_account', schema=None) as batch_op:
        batch_op.drop_index('ux_person_account_one_open')

"""an allocated 应缴's lines are its persons' ledger rows: 分配 marks the 应缴 (the 摘要
its lines are booked under, and when) instead of copying every line into ledger_entry;
lines are found by person for balances and statements

Revision ID: ledger01a
Revises: list01a
Create Date: 2026-12-07 18:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'ledger01a'
down_revision = 'list01a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payable") as batch:
        batch.add_column(sa.Column("allocated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("ledger_summary", sa.String(length=100), nullable=True))
    op.create_index("ix_payable_line_person", "payable_line", ["person_account_id"])


def downgrade() -> None:
    # 应缴 allocated under this revision keep their persons' rows only as lines: copy
    # them into ledger_entry first, as 分配 wrote them before.
    op.execute(
        "INSERT INTO ledger_entry (serial_no, unit_id, person_account_id, account_kind, "
        "biz_type, summary, amount, interest, head_count, month, booked_on, instance_id, "
        "created_at) SELECT p.allocate_serial, p.unit_id, l.person_account_id, 'P', p.kind, "
        "COALESCE(l.summary, p.ledger_summary), l.amount, 0, 1, l.month, p.allocated_on, "
        "p.instance_id, p.allocated_at FROM payable_line l JOIN payable p "
        "ON p.id = l.payable_id WHERE p.ledger_summary IS NOT NULL")
    op.drop_index("ix_payable_line_person", table_name="payable_line")
    with op.batch_alter_table("payable") as batch:
        batch.drop_column("ledger_summary")
        batch.drop_column("allocated_at")

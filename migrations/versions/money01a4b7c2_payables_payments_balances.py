"""money: 应缴 (payable, payable_line), 缴款 (payment), the unit's running balances
(unit_balance, filled from the ledger rows already there) and 结息 (interest_settlement)

Revision ID: money01a4b7c2
Revises: scale01a4f2c
Create Date: 2026-11-30 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'money01a4b7c2'
down_revision = 'scale01a4f2c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payable',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('head_count', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('unit_amount', sa.BigInteger(), nullable=False),
        sa.Column('person_amount', sa.BigInteger(), nullable=False),
        sa.Column('prev_count', sa.Integer(), nullable=False),
        sa.Column('prev_amount', sa.BigInteger(), nullable=False),
        sa.Column('added_count', sa.Integer(), nullable=False),
        sa.Column('added_amount', sa.BigInteger(), nullable=False),
        sa.Column('removed_count', sa.Integer(), nullable=False),
        sa.Column('removed_amount', sa.BigInteger(), nullable=False),
        sa.Column('reconciliation_json', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=True),
        sa.Column('verify_serial', sa.String(length=20), nullable=True),
        sa.Column('allocate_serial', sa.String(length=20), nullable=True),
        sa.Column('created_on', sa.Date(), nullable=False),
        sa.Column('allocated_on', sa.Date(), nullable=True),
        sa.Column('actor', sa.String(length=40), nullable=False),
        sa.Column('actor_name', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_payable_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payable')),
    )
    with op.batch_alter_table('payable', schema=None) as batch_op:
        batch_op.create_index('ix_payable_unit_status', ['unit_id', 'status', 'id'], unique=False)
        batch_op.create_index('ux_payable_unit_month', ['unit_id', 'month'], unique=True,
                              sqlite_where=sa.text("active AND kind = 'remit'"),
                              postgresql_where=sa.text("active AND kind = 'remit'"))

    op.create_table(
        'payable_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payable_id', sa.Integer(), nullable=False),
        sa.Column('person_account_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('base', sa.BigInteger(), nullable=True),
        sa.Column('unit_amount', sa.BigInteger(), nullable=True),
        sa.Column('person_amount', sa.BigInteger(), nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.String(length=4), nullable=True),
        sa.Column('summary', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payable_line')),
    )
    with op.batch_alter_table('payable_line', schema=None) as batch_op:
        batch_op.create_index('ix_payable_line_payable', ['payable_id', 'person_account_id'],
                              unique=False)

    op.create_table(
        'payment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('method', sa.String(length=12), nullable=False),
        sa.Column('reference', sa.String(length=60), nullable=False),
        sa.Column('idempotency_key', sa.String(length=80), nullable=False),
        sa.Column('serial_no', sa.String(length=20), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('recorded_by', sa.String(length=40), nullable=False),
        sa.Column('recorded_by_name', sa.String(length=40), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_payment_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_idempotency_key')),
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'unit_balance',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('balance', sa.BigInteger(), nullable=False),
        sa.Column('unallocated', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_balance_unit_id_unit')),
        sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_unit_balance')),
    )
    # Every unit starts from the sums of the rows it already has.
    op.execute(
        "INSERT INTO unit_balance (unit_id, balance, unallocated, updated_at) "
        "SELECT u.id, "
        "COALESCE((SELECT SUM(amount + interest) FROM ledger_entry e "
        "          WHERE e.unit_id = u.id AND e.account_kind = 'P'), 0), "
        "COALESCE((SELECT SUM(amount) FROM ledger_entry e "
        "          WHERE e.unit_id = u.id AND e.account_kind = 'U'), 0), "
        "CURRENT_TIMESTAMP FROM unit u")

    # Month-end writes a row per person (a verified month's lines, its allocation's ledger
    # rows): a foreign-key check per row cost more than the rows (bench/month_end.py). The
    # rows are written only from existing accounts and nothing deletes units or accounts.
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_entry_person_account_id_person_account',
                                 type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_entry_unit_id_unit', type_='foreignkey')
    if op.get_bind().dialect.name == 'postgresql':
        # Allocation moves every listed account's 缴至年月 each month: room on each page
        # lets PostgreSQL update the rows in place (HOT), without touching their indexes.
        op.execute('ALTER TABLE person_account SET (fillfactor = 50)')

    op.create_table(
        'interest_settlement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('settled_on', sa.Date(), nullable=False),
        sa.Column('serial_no', sa.String(length=20), nullable=False),
        sa.Column('head_count', sa.Integer(), nullable=False),
        sa.Column('interest', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_interest_settlement_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interest_settlement')),
        sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_interest_settlement_unit_id_year')),
    )


def downgrade() -> None:
    op.drop_table('interest_settlement')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE person_account RESET (fillfactor)')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_ledger_entry_unit_id_unit', 'unit', ['unit_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_entry_person_account_id_person_account',
                                    'person_account', ['person_account_id'], ['id'])
    op.drop_table('unit_balance')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_unit_id'))
    op.drop_table('payment')
    with op.batch_alter_table('payable_line', schema=None) as batch_op:
        batch_op.drop_index('ix_payable_line_payable')
    op.drop_table('payable_line')
    with op.batch_alter_table('payable', schema=None) as batch_op:
        batch_op.drop_index('ux_payable_unit_month', sqlite_where=sa.text("active AND kind = 'remit'"),
                            postgresql_where=sa.text("active AND kind = 'remit'"))
        batch_op.drop_index('ix_payable_unit_status')
    op.drop_table('payable')

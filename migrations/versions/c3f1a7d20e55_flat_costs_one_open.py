"""flat costs and one open application: 清册 keys and totals, the database-enforced
single open application, finished applications without workflow state, list indexes

Revision ID: c3f1a7d20e55
Revises: b41d2e7a9c10
Create Date: 2026-11-29 23:00:19
"""
import json
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = 'c3f1a7d20e55'
down_revision = 'b41d2e7a9c10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stash',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stash'))
    )
    with op.batch_alter_table('stash', schema=None) as batch_op:
        batch_op.create_index('ix_stash_created', ['created_at'], unique=False)

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('values_json', sa.Text(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_human_task_done_by'))
        batch_op.create_index('ix_human_task_done_by', ['completed_by', 'state', 'completed_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_human_task_group_state'))
        batch_op.create_index('ix_human_task_group_state', ['candidate_group', 'state', 'assignee', 'created_at'], unique=False)
        batch_op.create_index('ix_human_task_assignee', ['assignee', 'state', 'created_at'], unique=False)
        batch_op.create_index('ix_human_task_unit_done', ['unit_id', 'lane', 'state', 'completed_at'], unique=False)

    with op.batch_alter_table('manifest_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('amount_before', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_manifest_row_owner'))
    _fill_manifest_rows()
    with op.batch_alter_table('manifest_row', schema=None) as batch_op:
        batch_op.alter_column('row_key', existing_type=sa.String(length=40), nullable=False)
        batch_op.create_index('ix_manifest_row_owner', ['instance_id', 'id'], unique=False)
        batch_op.create_index('ux_manifest_row_open_key', ['business', 'row_key'], unique=True, sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
        batch_op.drop_column('seq')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_unread', ['unit_id'], unique=False, sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))

    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('manifest_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('manifest_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('manifest_amount_before', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_process_instance_unit_key', ['unit_id', 'process_key', 'status'], unique=False)
    _fill_instances()
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ux_process_instance_open', ['unit_id', 'open_key'], unique=True)


#: Businesses with one open application per unit when this migration was written.
SINGLE_OPEN = ("base_adjustment",)


def _fill_manifest_rows() -> None:
    """Existing rows (base adjustments) are keyed by 个人账号; their old 月缴存额 becomes
    amount_before; rows of running applications hold their key (only the first, if an
    earlier race let a person into two)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT m.id, m.data, a.account_no, i.status FROM manifest_row m "
        "JOIN process_instance i ON i.id = m.instance_id "
        "LEFT JOIN person_account a ON a.id = m.person_account_id ORDER BY m.id")).all()
    held = set()
    for row_id, data, account_no, status in rows:
        values = json.loads(data)
        key = account_no or values.get("person_account") or f"row{row_id}"
        before = values.get("old_monthly")
        active = status == "running" and key not in held
        if active:
            held.add(key)
        bind.execute(sa.text("UPDATE manifest_row SET row_key = :key, amount_before = :before, "
                             "active = :active WHERE id = :id"),
                     {"key": key, "id": row_id, "active": True if active else None,
                      "before": int(Decimal(before) * 100) if before else None})


def _fill_instances() -> None:
    """Totals from the rows; finished applications drop their workflow (history keeps
    the trail); the newest running application of a single-open business holds its place."""
    bind = op.get_bind()
    bind.execute(sa.text(
        "UPDATE process_instance SET "
        "manifest_count = (SELECT count(*) FROM manifest_row m WHERE m.instance_id = process_instance.id), "
        "manifest_amount = COALESCE((SELECT sum(amount) FROM manifest_row m WHERE m.instance_id = process_instance.id), 0), "
        "manifest_amount_before = COALESCE((SELECT sum(amount_before) FROM manifest_row m WHERE m.instance_id = process_instance.id), 0)"))
    bind.execute(sa.text("UPDATE process_instance SET state = '' WHERE status <> 'running'"))
    running = bind.execute(sa.text(
        "SELECT id, unit_id, process_key FROM process_instance WHERE status = 'running' "
        "ORDER BY id DESC")).all()
    seen = set()
    for instance_id, unit_id, key in running:
        if key in SINGLE_OPEN and (unit_id, key) not in seen:
            seen.add((unit_id, key))
            bind.execute(sa.text("UPDATE process_instance SET open_key = :key WHERE id = :id"),
                         {"key": key, "id": instance_id})


def downgrade() -> None:
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ux_process_instance_open')
        batch_op.drop_index('ix_process_instance_unit_key')
        batch_op.drop_column('manifest_amount_before')
        batch_op.drop_column('manifest_amount')
        batch_op.drop_column('manifest_count')
        batch_op.drop_column('open_key')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_unread', sqlite_where=sa.text('read_at IS NULL'), postgresql_where=sa.text('read_at IS NULL'))

    with op.batch_alter_table('manifest_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.INTEGER(), server_default='0', nullable=False))
        batch_op.drop_index('ux_manifest_row_open_key', sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
        batch_op.drop_index('ix_manifest_row_owner')
        batch_op.create_index(batch_op.f('ix_manifest_row_owner'), ['instance_id', 'seq'], unique=False)
        batch_op.drop_column('active')
        batch_op.drop_column('amount_before')
        batch_op.drop_column('row_key')

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_unit_done')
        batch_op.drop_index('ix_human_task_assignee')
        batch_op.drop_index('ix_human_task_group_state')
        batch_op.create_index(batch_op.f('ix_human_task_group_state'), ['candidate_group', 'state', 'assignee'], unique=False)
        batch_op.drop_index('ix_human_task_done_by')
        batch_op.create_index(batch_op.f('ix_human_task_done_by'), ['completed_by', 'completed_at'], unique=False)
        batch_op.drop_column('values_json')

    with op.batch_alter_table('stash', schema=None) as batch_op:
        batch_op.drop_index('ix_stash_created')

    op.drop_table('stash')

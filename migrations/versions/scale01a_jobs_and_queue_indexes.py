"""background jobs (job table) and the task-index indexes the centre's queue figures read

Revision ID: scale01a4f2c
Revises: ukey01a7c2d4
Create Date: 2026-11-28 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'scale01a4f2c'
down_revision = 'ukey01a7c2d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'job',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('owner', sa.String(length=40), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('payload_json', sa.Text(), nullable=False),
        sa.Column('input_blob', sa.LargeBinary(), nullable=True),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=True),
        sa.Column('output_blob', sa.LargeBinary(), nullable=True),
        sa.Column('output_name', sa.String(length=200), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job')),
    )
    with op.batch_alter_table('job') as batch:
        batch.create_index('ix_job_owner_created', ['owner', 'created_at'], unique=False)
        batch.create_index('ix_job_state_created', ['state', 'created_at'], unique=False)
    with op.batch_alter_table('human_task') as batch:
        batch.create_index('ix_human_task_queue', ['state', 'candidate_group', 'process_key',
                                                   'created_at', 'assignee'], unique=False)
        batch.create_index('ix_human_task_decided', ['candidate_group', 'completed_at'],
                           unique=False)


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.drop_index('ix_human_task_decided')
        batch.drop_index('ix_human_task_queue')
    with op.batch_alter_table('job') as batch:
        batch.drop_index('ix_job_state_created')
        batch.drop_index('ix_job_owner_created')
    op.drop_table('job')

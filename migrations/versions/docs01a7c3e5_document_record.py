"""document records: check codes of printed documents and what the verify page shows

Revision ID: docs01a7c3e5
Revises: c3f1a7d20e55
Create Date: 2026-11-29 23:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'docs01a7c3e5'
down_revision = 'c3f1a7d20e55'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'document_record',
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=60), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('unit_name', sa.String(length=100), nullable=False),
        sa.Column('doc_date', sa.Date(), nullable=False),
        sa.Column('date_label', sa.String(length=20), nullable=False),
        sa.Column('totals_json', sa.Text(), nullable=False),
        sa.Column('row_count', sa.Integer(), nullable=False),
        sa.Column('rows_digest', sa.String(length=64), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_document_record_unit_id_unit')),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_document_record')))
    with op.batch_alter_table('document_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_record_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('document_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_record_unit_id'))
    op.drop_table('document_record')

"""ukey: the centre CA certificates logins trust, units' UKey certificates (one ACTIVE per
unit, by a partial unique index), login challenges

Revision ID: ukey01a7c2d4
Revises: f1b2c3d4e5f6
Create Date: 2026-11-29 22:56:16.647892
"""
import sqlalchemy as sa
from alembic import op

revision = 'ukey01a7c2d4'
down_revision = 'f1b2c3d4e5f6'
branch_labels = None
depends_on = None

# One ACTIVE certificate per unit: the same partial index on both databases.
ACTIVE = {"sqlite_where": sa.text("status = 'active'"),
          "postgresql_where": sa.text("status = 'active'")}


def upgrade() -> None:
    op.create_table('ukey_authority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('algorithm', sa.String(length=40), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ukey_authority')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_ukey_authority_fingerprint'))
    )
    op.create_table('ukey_challenge',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('binding', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ukey_challenge'))
    )
    with op.batch_alter_table('ukey_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ukey_challenge_created_at'), ['created_at'], unique=False)

    op.create_table('ukey_certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('not_before', sa.DateTime(), nullable=False),
    sa.Column('not_after', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['ukey_authority.id'], name=op.f('fk_ukey_certificate_authority_id_ukey_authority')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_ukey_certificate_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ukey_certificate')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_ukey_certificate_fingerprint')),
    sa.UniqueConstraint('serial', name=op.f('uq_ukey_certificate_serial'))
    )
    with op.batch_alter_table('ukey_certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ukey_certificate_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('uq_ukey_certificate_active_unit', ['unit_id'], unique=True,
                                 **ACTIVE)


def downgrade() -> None:
    with op.batch_alter_table('ukey_certificate', schema=None) as batch_op:
        batch_op.drop_index('uq_ukey_certificate_active_unit', **ACTIVE)
        batch_op.drop_index(batch_op.f('ix_ukey_certificate_unit_id'))

    op.drop_table('ukey_certificate')
    with op.batch_alter_table('ukey_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ukey_challenge_created_at'))

    op.drop_table('ukey_challenge')
    op.drop_table('ukey_authority')

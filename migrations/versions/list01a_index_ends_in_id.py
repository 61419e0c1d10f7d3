"""list indexes end in id: a page of 已办, 我发起的 or 消息 is a range read of its rows even
where many share one time (PostgreSQL sorted them all to break the tie)

Revision ID: list01a
Revises: reg01a3f9c2d1
Create Date: 2026-12-07 13:00:00
"""
from alembic import op

revision = 'list01a'
down_revision = 'reg01a3f9c2d1'
branch_labels = None
depends_on = None

#: (table, index, columns before the id)
INDEXES = (
    ("human_task", "ix_human_task_unit_state", ["unit_id", "lane", "state", "created_at"]),
    ("human_task", "ix_human_task_unit_done", ["unit_id", "lane", "state", "completed_at"]),
    ("human_task", "ix_human_task_assignee", ["assignee", "state", "created_at"]),
    ("human_task", "ix_human_task_group_state",
     ["candidate_group", "state", "assignee", "created_at"]),
    ("human_task", "ix_human_task_done_by", ["completed_by", "state", "completed_at"]),
    ("process_instance", "ix_process_instance_unit_created", ["unit_id", "created_at"]),
    ("message", "ix_message_unit_created", ["unit_id", "created_at"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [*columns, "id"])


def downgrade() -> None:
    for table, name, columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)

"""The engine's tables: definitions (versions), instances, the human-task index, history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db import Base, Money, utcnow

RUNNING, COMPLETED, TERMINATED = "running", "completed", "terminated"
STATUS_NAMES = {RUNNING: "办理中", COMPLETED: "已办结", TERMINATED: "已结束"}
READY, DONE, CANCELLED = "ready", "completed", "cancelled"


class ProcessDefinition(Base):
    """One deployed version of a diagram: the XML analysts edit and the parsed spec."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text)
    #: Per element: name, type, lane (role), form; the sequence flows. Read by the viewer
    #: and the task index without parsing the XML again.
    meta_json: Mapped[str] = mapped_column(Text)
    deployed_by: Mapped[str] = mapped_column(String(40))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessInstance(Base):
    """A running or finished application (申请). `state` is the workflow without its spec,
    emptied once the application ends (its history rows keep the trail and the flowchart).

    `open_key` holds the business key while an application of a business that allows one
    open application per unit (e.g. 基数调整) runs, and NULL otherwise: the unique index on
    (unit_id, open_key) makes the database refuse a second one, however many requests race.
    The `manifest_*` columns are the 清册's count and sums, moved by each edit."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_unit_created", "unit_id", "created_at", "id"),
        Index("ix_process_instance_unit_key", "unit_id", "process_key", "status"),
        Index("ix_process_instance_timer", "status", "next_timer_at"),
        Index("ux_process_instance_open", "unit_id", "open_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    status: Mapped[str] = mapped_column(String(12), default=RUNNING)
    title: Mapped[str] = mapped_column(String(100))
    summary_json: Mapped[str] = mapped_column(Text, default="{}")
    state: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    active_elements: Mapped[str] = mapped_column(Text, default="[]")
    initiator: Mapped[str] = mapped_column(String(40))
    initiator_name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    next_timer_at: Mapped[datetime | None]
    open_key: Mapped[str | None] = mapped_column(String(40))
    manifest_count: Mapped[int] = mapped_column(default=0, server_default="0")
    manifest_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                                     server_default="0")
    manifest_amount_before: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"),
                                                            server_default="0")


class HumanTask(Base):
    """The task index: one row per user task that became ready, so 待办 / 已办 / 我发起的
    and the reviewer's group queue are single indexed queries, never workflow scans."""

    __tablename__ = "human_task"
    __table_args__ = (
        # One index per list, each ending in the columns the list sorts by (its time, then
        # id to break ties), so a page is a range read of exactly its rows however many
        # the list has (待办 / 已办 of a unit, a reviewer's own tasks, the group queue, a
        # reviewer's 已办). Without the id, PostgreSQL sorted every row of equal time.
        Index("ix_human_task_unit_state", "unit_id", "lane", "state", "created_at", "id"),
        Index("ix_human_task_unit_done", "unit_id", "lane", "state", "completed_at", "id"),
        Index("ix_human_task_assignee", "assignee", "state", "created_at", "id"),
        Index("ix_human_task_group_state", "candidate_group", "state", "assignee", "created_at",
              "id"),
        Index("ix_human_task_done_by", "completed_by", "state", "completed_at", "id"),
        # 中心监控: waiting per business and group, and decisions per group over time.
        Index("ix_human_task_queue", "state", "candidate_group", "process_key", "created_at",
              "assignee"),
        Index("ix_human_task_decided", "candidate_group", "completed_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str] = mapped_column(String(40))
    form_key: Mapped[str] = mapped_column(String(80))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    candidate_group: Mapped[str | None] = mapped_column(String(40))
    assignee: Mapped[str | None] = mapped_column(String(40))
    assignee_name: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default=READY)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(40))
    completed_by_name: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str | None] = mapped_column(String(20))
    opinion: Mapped[str | None] = mapped_column(Text)
    #: What the form held when it was completed (JSON), shown read-only on the task's page.
    values_json: Mapped[str | None] = mapped_column(Text)


class HistoryEvent(Base):
    """What happened in an instance, in order: the flowchart state and the approval trail."""

    __tablename__ = "history_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    element_id: Mapped[str | None] = mapped_column(String(80))
    #: The BPMN element the token came from, so the viewer can mark the flow taken.
    source_element_id: Mapped[str | None] = mapped_column(String(80))
    lane: Mapped[str | None] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(40))
    decision: Mapped[str | None] = mapped_column(String(20))
    opinion: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)

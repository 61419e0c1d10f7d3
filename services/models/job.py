"""Background jobs (后台任务): work too long for a web request, such as a 50,000-row import
or an export of a large unit. A job's row holds everything another host needs to run it
(the uploaded bytes included) and everything the page shows (progress, result, error)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
JOB_STATES = {QUEUED: "排队中", RUNNING: "处理中", DONE: "已完成", FAILED: "失败"}


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_owner_created", "owner", "created_at"),
                      Index("ix_job_state_created", "state", "created_at"))
    #: A random hex id: the Celery message and every retry of it carry this id.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(100))
    #: The actor key of who submitted it: only they see it.
    owner: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    payload_json: Mapped[str] = mapped_column(Text, default="{}")
    #: The input (an uploaded .xlsx): in the database, so any worker host can read it.
    input_blob: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    result_json: Mapped[str | None] = mapped_column(Text)
    #: A produced file (an export) and the name it downloads as.
    output_blob: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    output_name: Mapped[str | None] = mapped_column(String(200))
    #: Why it failed, in Chinese, as the user reads it.
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

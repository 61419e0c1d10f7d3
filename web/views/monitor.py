"""中心监控: the centre's queues for its staff, per business and group: waiting, claimed,
the oldest waiting, the median time to decision and what is past the service deadline.
The same figures Prometheus scrapes (engine/metrics.py), for people."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from sqlalchemy import select

from engine.actors import STAFF
from engine.metrics import DECISION_WINDOW, queues
from services.db import db, utcnow
from services.models import City
from services.policy import Policy

from .. import auth
from . import bp


def duration_text(seconds: float | None) -> str:
    """3天4小时, 2小时5分钟, 12分钟: how long, as staff say it."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分钟"
    return f"{minutes}分钟" if minutes else "不到1分钟"


@bp.get("/centre/monitor")
@auth.login_required(STAFF)
def monitor():
    policy = Policy.from_json(db.session.execute(select(City.policy_json).limit(1)).scalar())
    now = utcnow()
    rows = queues(timedelta(days=policy.service_days), now)
    totals = {"waiting": sum(q.waiting for q in rows), "claimed": sum(q.claimed for q in rows),
              "overdue": sum(q.overdue for q in rows)}
    return render_template("centre/monitor.html", rows=rows, now=now, totals=totals,
                           service_days=policy.service_days, window_days=DECISION_WINDOW.days,
                           duration_text=duration_text)

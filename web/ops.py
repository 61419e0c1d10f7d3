"""For operators and load balancers: /healthz and /metrics (no login; keep /metrics off
the public side of the proxy, see web/deploy/nginx.conf)."""

from __future__ import annotations

from functools import lru_cache

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST

from services.db import db

from . import metrics
from .migrate import alembic_config

bp = Blueprint("ops", __name__)


@lru_cache(maxsize=1)
def expected_heads() -> frozenset[str]:
    """The migration heads this code ships (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@bp.get("/healthz")
def healthz():
    """200 when the database answers and its schema is at this code's migrations; else 503
    with the reason, so a balancer stops sending requests to a process that would fail."""
    try:
        connection = db.session.connection()
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
        dialect = connection.dialect.name
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        return jsonify({"status": "unavailable", "reason": "数据库无法连接",
                        "detail": type(exc).__name__}), 503
    expected = expected_heads()
    if current != expected:
        return jsonify({"status": "unavailable",
                        "reason": "数据库结构不是当前版本，请先运行 hpf init-db",
                        "revision": sorted(current), "expected": sorted(expected)}), 503
    return jsonify({"status": "ok", "database": dialect, "revision": sorted(current)})


@bp.get("/metrics")
def metrics_endpoint():
    body = metrics.exposition()
    db.session.rollback()
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    metrics.init_app(app)

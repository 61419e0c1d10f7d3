"""Serving the hall: `hpf serve` (embedded: waitress, one process, SQLite) and
`hpf serve --production` (gunicorn, several worker processes, PostgreSQL).

Production settings, all by environment (README, 生产部署):
  HPF_SECRET_KEY (required), HPF_DATABASE_URL, HPF_HOST / HPF_PORT, HPF_WORKERS
  (default one per core, at least 2), HPF_THREADS (4 per worker), HPF_KEEPALIVE (5 s), HPF_TIMEOUT (60 s),
  HPF_MAX_CONNECTIONS (1000 per worker), HPF_ACCESS_LOG ("-" = stdout), HPF_METRICS_DIR,
  HPF_FORWARDED_ALLOW_IPS (the proxy's address, 127.0.0.1), HPF_BROKER_URL (web/worker.py).

Why gunicorn's threaded worker: the app is synchronous Flask + SQLAlchemy whose requests
spend part of their time waiting on the database, so a few threads per process overlap
those waits, and several processes use every core (one Python process is held to about
one by the GIL). An event-loop worker (gevent) would need the database driver patched
for little gain on requests that are mostly CPU. gunicorn 27's gthread hands a new
connection to a thread that waits up to 5 s for its first bytes, so a few hundred idle
connections occupy every thread and everyone else queues behind them (measured, README):
`HallThreadWorker` parks new connections in the worker's poller instead, as gunicorn
already does for kept-alive ones, and closes those silent for HPF_KEEPALIVE seconds.
"""

from __future__ import annotations

import errno
import gc
import os
import selectors
import shutil
import time
from functools import partial
from pathlib import Path

from gunicorn.workers.gthread import TConn, ThreadWorker

from . import config

ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def settings(host: str | None = None) -> dict:
    """gunicorn's settings from the environment."""
    host = host or os.environ.get("HPF_HOST") or "127.0.0.1"
    return {
        "bind": [f"{host}:{config.port()}"],
        # One process per core: each one's threads already overlap its database waits,
        # so a process more than cores only adds contention (bench/load.py on two cores:
        # home at 16 clients 249 req/s, p99 97-144 ms with two; 217 req/s, p99
        # 295-328 ms with three). At least two, so a restarting worker leaves one serving.
        "workers": _int("HPF_WORKERS", max(2, os.cpu_count() or 1)),
        "threads": _int("HPF_THREADS", 4),
        # HPF_WORKER_CLASS=gthread gives gunicorn's own (bench/load.py compares the two).
        "worker_class": os.environ.get("HPF_WORKER_CLASS") or "web.serving.HallThreadWorker",
        "worker_connections": _int("HPF_MAX_CONNECTIONS", 1000),
        "keepalive": _int("HPF_KEEPALIVE", 5),
        "timeout": _int("HPF_TIMEOUT", 60),
        "graceful_timeout": 30,
        "backlog": 2048,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "accesslog": os.environ.get("HPF_ACCESS_LOG") or "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "forwarded_allow_ips": os.environ.get("HPF_FORWARDED_ALLOW_IPS") or "127.0.0.1",
        "proc_name": "hpf",
        # gunicorn 27's control socket lives in ~/.gunicorn: two halls on one host (or a
        # test run beside a bench) would share it. Nothing here uses it.
        "control_socket_disable": True,
        "child_exit": _child_exit,
    }


def production_problems() -> list[str]:
    """What must be set before several processes serve real users."""
    problems = []
    if not os.environ.get("HPF_SECRET_KEY"):
        problems.append("生产模式必须设置 HPF_SECRET_KEY（所有进程共用的会话密钥）")
    url = config.database_url(config.instance_dir())
    if url.startswith("sqlite"):
        problems.append("生产模式应使用 PostgreSQL：请设置 HPF_DATABASE_URL=postgresql+psycopg://…")
    return problems


def prepare_metrics_dir() -> Path:
    """An empty directory for prometheus_client's per-process files, named in the
    environment before any worker imports the client."""
    path = Path(os.environ.get("HPF_METRICS_DIR") or config.instance_dir() / "metrics")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


def _child_exit(server, worker) -> None:
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def wsgi():
    """The app as each gunicorn worker builds it: no deploying (the master did), and a
    connection pool sized to the worker's threads."""
    from . import create_app
    threads = _int("HPF_THREADS", 4)
    overrides = {"DEPLOY_ON_START": False}
    if not config.database_url(config.instance_dir()).startswith("sqlite"):
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": threads + 1, "max_overflow": 4,
                                                  "pool_recycle": 1800}
    app = create_app(overrides)
    settle_heap()
    return app


def settle_heap() -> None:
    """Once the app is built, before it serves: what building it made (modules, mappers,
    compiled statements, templates, parsed diagrams) lives as long as the process, so the
    cyclic garbage collector is told not to walk it again (`gc.freeze`). Measured on home:
    a full collection walked about 211,000 such objects and held every thread of the
    process for about 100 ms, a pause every few thousand requests that lands in the
    slowest percentile; frozen, the collector walks only what requests leave behind."""
    gc.collect()
    gc.freeze()


def run_production(host: str | None = None) -> None:
    from gunicorn.app.base import BaseApplication

    from services.db import db

    from . import create_app

    prepare_metrics_dir()
    app = create_app({"DEPLOY_ON_START": True})  # once, here, not racing in every worker
    with app.app_context():
        db.engine.dispose()
    options = settings(host)

    class Hall(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return wsgi()

    Hall().run()


class HallThreadWorker(ThreadWorker):
    """gthread whose new connections wait for their first bytes in the poller."""

    def accept(self, listener):
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client.setblocking(False)
        conn = TConn(self.cfg, client, address, listener.getsockname())
        # Same deadline as a deferred connection gets, so pending_conns stays in order.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(client, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))

"""The Flask application: the employer hall, the centre desk and the JSON API."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from services.db import db

from . import config


class RowId(IntegerConverter):
    """`<int:…>` in a URL is a row id: one beyond the databases' integer range is simply
    not there (404), not an error from the database (PostgreSQL's integer is 32-bit)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=config.instance_dir().as_posix()
                if not overrides or "INSTANCE_DIR" not in overrides else overrides["INSTANCE_DIR"])
    app.url_map.converters["int"] = RowId
    app.config.from_mapping(config.load(overrides))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30}})
    db.init_app(app)

    import engine.jobs
    import engine.metrics
    import engine.models  # noqa: F401  (tables)
    import services.models  # noqa: F401

    from . import api, csrf, errors, input_guard, ops, views
    input_guard.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    views.init_app(app)
    api.init_app(app)
    ops.init_app(app)
    _init_jobs(app)

    app.after_request(_security_headers)
    if app.config["DEPLOY_ON_START"]:
        with app.app_context():
            deploy_on_start(app)
    return app


def _init_jobs(app: Flask) -> None:
    """Long work goes to Celery when a broker is configured, else to in-process threads."""
    from services import jobs
    backend = None
    if app.config["BROKER_URL"]:
        from .worker import CeleryBackend
        backend = CeleryBackend(app.config["BROKER_URL"], app.config["JOB_QUEUE"])
    jobs.init_app(app, backend)


def _security_headers(response):
    """No page may be framed by another site (clickjacking on 审批 / 结束流程), nor
    content-sniffed; other sites get no referrer. Pages and API answers carry people's ID
    numbers and balances: no browser or proxy may keep a copy (static files may)."""
    from flask import request

    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def deploy_on_start(app: Flask) -> None:
    """Deploy changed diagrams when the schema exists (after `hpf init-db`)."""
    from engine.deploy import DeployRefused, deploy_directory

    if not inspect(db.engine).has_table("process_definition"):
        return
    # A file stored as any version is not deployed again: an analyst's newer version
    # from the browser must survive a restart.
    for result in deploy_directory(app.config["BPMN_DIR"], known_is_deployed=True):
        if isinstance(result, DeployRefused):
            app.logger.error(result.message)
    db.session.commit()


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL lets readers work while one writer commits; foreign keys on; wait, don't fail,
    when another connection holds the write lock."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_the_action(connection, name):
    """Python's sqlite3 opens a transaction only before an INSERT, UPDATE or DELETE, and a
    SAVEPOINT issued outside one starts a transaction of its own that its RELEASE commits:
    an action whose first write sat in a savepoint (a payment's idempotency key, a
    verification's 应缴) committed that write at once, and a later failure of the same
    action could no longer undo it. So the action's transaction is opened first, taking
    the write lock the savepoint is about to need (IMMEDIATE: waited for, never a stale
    read snapshot upgraded)."""
    if connection.dialect.name == "sqlite":
        driver = connection.connection.dbapi_connection
        if not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")

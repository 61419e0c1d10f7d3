"""Fixtures: a real database per test (SQLite file, or PostgreSQL when HPF_TEST_DB names a
server), cloned from a template that was migrated with Alembic, seeded with the demo data
and given the deployed diagrams once per session.

    HPF_TEST_DB=sqlite                      (default)
    HPF_TEST_DB=postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import cache
from services.db import db
from tests import openapi, smartcard
from tests.ukey import ukey_login_fields
from web import create_app
from web.migrate import upgrade
from web.ukey.stack import StackError

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = ROOT / "bpmn-diagrams"
_counter = itertools.count()
cache.VERIFY = True  # every use of a cached workflow is checked against a fresh load


class Databases:
    """Creates the template database once and a fresh clone of it per test."""

    def __init__(self, target: str, workdir: Path):
        self.target = target
        self.workdir = workdir
        self.prefix = f"hpf_test_{uuid.uuid4().hex[:8]}"
        self.is_postgres = target.startswith("postgresql")
        self.template_url = self.url(f"{self.prefix}_tpl")

    def url(self, name: str) -> str:
        if self.is_postgres:
            return str(sa.engine.make_url(self.target).set(database=name)
                       .render_as_string(hide_password=False))
        return f"sqlite:///{self.workdir / (name + '.db')}"

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(self.target, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(statement))
        engine.dispose()

    def create_template(self) -> None:
        if self.is_postgres:
            self._admin(f'CREATE DATABASE "{self.prefix}_tpl"')
        upgrade(self.template_url)

    def clone(self) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        if self.is_postgres:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.prefix}_tpl"')
        else:
            shutil.copyfile(self.workdir / f"{self.prefix}_tpl.db", self.workdir / f"{name}.db")
        return name

    def drop(self, name: str) -> None:
        if self.is_postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.workdir / f"{name}.db{suffix}").unlink(missing_ok=True)


def make_app(url: str, instance: Path, **extra):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance),
                       "SECRET_KEY": "test", "TESTING": True, "DEPLOY_ON_START": False, **extra})


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    target = os.environ.get("HPF_TEST_DB", "sqlite")
    workdir = tmp_path_factory.mktemp("db")
    dbs = Databases(target, workdir)
    dbs.create_template()
    instance = tmp_path_factory.mktemp("instance")
    app = make_app(dbs.template_url, instance)
    with app.app_context():
        from engine.deploy import DeployRefused, deploy_directory
        from services.demo import seed_demo
        seed_demo(instance)
        refused = [r.message for r in deploy_directory(DIAGRAMS, "test")
                   if isinstance(r, DeployRefused)]
        assert not refused, refused  # every business's diagram must deploy
        db.session.commit()
        db.engine.dispose()
    dbs.demo = json.loads((instance / "demo.json").read_text())
    dbs.ca_dir = instance / "ukey-ca"  # the CA that issued the demo UKeys
    yield dbs
    dbs.drop(f"{dbs.prefix}_tpl")


@pytest.fixture
def app(databases, tmp_path):
    name = databases.clone()
    application = make_app(databases.url(name), tmp_path, UKEY_CA_DIR=str(databases.ca_dir),
                           UKEY_AGENT_PORT=smartcard.AGENT_PORT)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(name)


@pytest.fixture
def ctx(app):
    """An application context, for tests that call services and the engine directly."""
    with app.app_context():
        yield app


@pytest.fixture
def demo(databases) -> dict:
    return databases.demo


class Api:
    """A logged-in JSON client: CSRF header added, responses returned as-is."""

    def __init__(self, client, demo: dict):
        self.client = client
        self.demo = demo

    def csrf(self) -> str:
        return self.client.get("/api/v1/auth/csrf").json["csrf_token"]

    def get(self, url: str, **kwargs):
        return openapi.checked(self.client, self.client.get(url, **kwargs))

    def post(self, url: str, json=None, **kwargs):
        return openapi.checked(self.client, self.client.post(url, json=json,
                                                headers={"X-CSRF-Token": self.csrf()}, **kwargs))

    def delete(self, url: str):
        return openapi.checked(self.client, self.client.delete(url, headers={"X-CSRF-Token": self.csrf()}))

    def login_operator(self, unit: int = 0, operator: int = 0) -> Api:
        """UKey and password, the UKey's signature made with the demo card's key directly."""
        info = self.demo["units"][unit]
        login = info["operators"][operator]
        response = self.post("/api/v1/auth/login", {
            "unit_account": info["unit_account"], "login_name": login["login_name"],
            "password": login["password"], "ukey": ukey_login_fields(self.client, info)})
        assert response.status_code == 200, response.json
        return self

    def login_reviewer(self, index: int = 0) -> Api:
        return self._login_staff(self.demo["reviewers"][index])

    def login_analyst(self, index: int = 0) -> Api:
        return self._login_staff(self.demo["analysts"][index])

    def login_finance(self, index: int = 0) -> Api:
        return self._login_staff(self.demo["finance"][index])

    def _login_staff(self, info: dict) -> Api:
        response = self.post("/api/v1/auth/login", {"login_name": info["login_name"],
                                                    "password": info["password"]})
        assert response.status_code == 200, response.json
        return self

    def logout(self) -> Api:
        self.post("/api/v1/auth/logout")
        return self


@pytest.fixture
def api(app, demo):
    return Api(app.test_client(), demo)


@pytest.fixture
def make_api(app, demo):
    """More than one logged-in party in one test (operator and reviewer side by side)."""
    return lambda: Api(app.test_client(), demo)


@pytest.fixture(scope="session")
def ukey_stack(databases):
    """pcscd, the virtual card (unit 0's demo UKey) and the UKey agent, for real."""
    try:
        return smartcard.stack(databases.demo)
    except StackError as exc:
        pytest.fail(f"UKey 测试环境无法启动：{exc}", pytrace=False)


@pytest.fixture
def card(ukey_stack, demo):
    """The stack with unit 0's fresh demo card inserted; put back after the test."""
    ukey_stack.ensure_demo_card(demo, fresh=True)
    yield ukey_stack
    ukey_stack.ensure_demo_card(demo)


@pytest.fixture(scope="session", autouse=True)
def _smartcard_stack_stops():
    """The stack starts on first use (a fixture or a browser login); it ends with the session."""
    yield
    smartcard.stop()



def pytest_collection_modifyitems(config, items):
    """A test that uses no database (no `databases` fixture, directly or through `app`,
    `demo`, `api`…) gives the same result whichever database the suite runs on: the
    SQLite suite runs it, the PostgreSQL suite says so and moves on."""
    if os.environ.get("HPF_TEST_DB", "sqlite") == "sqlite":
        return
    once = pytest.mark.skip(reason="uses no database: the SQLite suite runs it")
    for item in items:
        if "databases" not in getattr(item, "fixturenames", ()):
            item.add_marker(once)

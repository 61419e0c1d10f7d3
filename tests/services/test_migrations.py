"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import queries
from engine.deploy import deploy
from engine.models import ProcessDefinition, ProcessInstance
from services.db import Base, db
from tests.conftest import ROOT, make_app
from web.migrate import alembic_config


def test_migrated_database_matches_the_models(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


FIXTURE = Path(__file__).parent / "data" / "finished_before_flat_costs.json"
#: The schema the fixture's rows were written under (by the hall before finished
#: applications dropped their workflow state and history its element names).
OLD_REVISION = "b41d2e7a9c10"


def _restored(value):
    if isinstance(value, dict) and "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    return value


@pytest.fixture
def old_database(databases, tmp_path):
    name = f"{databases.prefix}_old"
    if databases.is_postgres:
        databases._admin(f'CREATE DATABASE "{name}"')
    url = databases.url(name) if databases.is_postgres else f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), OLD_REVISION)
    yield url
    if databases.is_postgres:
        databases.drop(name)


def test_an_application_finished_before_the_change_shows_exactly_as_before(old_database, tmp_path):
    """A base adjustment returned once and then approved, as the hall stored it before
    (workflow state kept, history with element names): after the migrations its history,
    approval trail and flowchart read exactly as they did then, and it keeps no state."""
    data = json.loads(FIXTURE.read_text())
    app = make_app(old_database, tmp_path)
    with app.app_context():
        definition = deploy((ROOT / "bpmn-diagrams" / "base_adjustment.bpmn").read_bytes(),
                            "base_adjustment.bpmn", "系统")
        definition_id = db.session.execute(sa.select(ProcessDefinition.id).where(
            ProcessDefinition.key == "base_adjustment",
            ProcessDefinition.version == definition.version)).scalar_one()
        for table in ("city", "unit", "unit_account", "person", "person_account",
                      "process_instance", "human_task", "history_event", "manifest_row"):
            for row in data["rows"][table]:
                values = {k: _restored(v) for k, v in row.items()}
                if table == "process_instance":
                    values["definition_id"] = definition_id
                columns = ", ".join(values)
                db.session.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES "
                                           f"({', '.join(':' + c for c in values)})"), values)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    command.upgrade(alembic_config(old_database), "head")
    app = make_app(old_database, tmp_path)
    with app.app_context():
        instance_id = data["rows"]["process_instance"][0]["id"]
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.state == "" and instance.open_key is None
        diagram = queries.diagram(instance)
        diagram.pop("bpmn_xml")
        shown = {"history": queries.history_rows(instance), "trail": queries.trail(instance),
                 "diagram": diagram}
        assert json.loads(json.dumps(shown, default=str)) == data["expected"]
        assert instance.manifest_count == 2 and instance.manifest_amount > 0
        db.session.remove()
        db.engine.dispose()

"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine import queries
from engine.deploy import deploy
from engine.models import ProcessDefinition, ProcessInstance
from services import ledger, unit_query
from services.db import Base, db
from services.documents import builders
from services.models import LedgerEntry, Payable, PersonAccount, UnitAccount
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


def _books(app, demo) -> dict:
    """What every reader of persons' money shows for the demo units: each person's
    balance, the 账户信息 of all time, every person's statement and each allocation's
    明细."""
    shown = {}
    with app.app_context():
        for index in range(len(demo["units"])):
            unit_id = db.session.execute(sa.select(UnitAccount.unit_id).where(
                UnitAccount.account_no == demo["units"][index]["unit_account"])).scalar_one()
            accounts = db.session.execute(sa.select(PersonAccount.account_no).where(
                PersonAccount.unit_id == unit_id)).scalars().all()
            serials = db.session.execute(sa.select(Payable.allocate_serial).where(
                Payable.unit_id == unit_id, Payable.status == "allocated")).scalars().all()
            shown[unit_id] = {
                "balances": ledger.unit_person_balances(unit_id),
                "account": unit_query.account_info(unit_id, date(2000, 1, 1), date(2100, 1, 1)),
                "statements": {a: builders.person_statement(unit_id, a, date(2100, 1, 1)).rows
                               for a in accounts},
                "details": {s: unit_query.details(unit_id, s, per_page=0)[1] for s in serials}}
        db.session.remove()
        db.engine.dispose()
    return shown


def test_allocations_read_the_same_whether_their_lines_or_ledger_rows_hold_the_persons(app,
                                                                                      demo):
    """分配 books an 应缴's lines as its persons' ledger rows (ledger01a). Stepping the
    schema back writes them out as ledger rows, the way 分配 stored them before; those
    read exactly the same after the migration, counted once."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    before = _books(app, demo)
    with app.app_context():
        booked = db.session.execute(sa.select(sa.func.count()).select_from(Payable).where(
            Payable.ledger_summary.is_not(None))).scalar_one()
        assert booked > 0  # the demo's months were allocated as lines
        assert db.session.execute(sa.select(sa.func.count()).select_from(LedgerEntry).where(
            LedgerEntry.account_kind == "P", LedgerEntry.biz_type == "remit")).scalar_one() == 0
        db.session.remove()
        db.engine.dispose()
    assert sum(len(b["balances"]) for b in before.values()) > 0

    command.downgrade(alembic_config(url), "list01a")
    engine = sa.create_engine(url)
    with engine.connect() as connection:  # the old schema: persons' money is ledger rows
        old = dict(connection.execute(sa.text(
            "SELECT person_account_id, SUM(amount + interest) FROM ledger_entry "
            "WHERE account_kind = 'P' GROUP BY person_account_id")).all())
    engine.dispose()
    assert old == {pid: int(balance * 100) for b in before.values()
                   for pid, balance in b["balances"].items()}

    command.upgrade(alembic_config(url), "head")
    assert _books(app, demo) == before

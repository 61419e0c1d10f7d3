"""Shared steps for business tests: starting an application, 录入清册 through the API,
filling the hall's own .xlsx templates, the demo units' persons by status."""

from __future__ import annotations

import io
from decimal import ROUND_CEILING, Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from services.db import db
from services.models import PersonAccount
from tests.money_helpers import unit_id_of


def fill_template(content: bytes, rows: list[dict[str, str]]) -> bytes:
    """Write rows (by Chinese header) under the header row of the downloaded template."""
    book = load_workbook(io.BytesIO(content))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[1]}
    for offset, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(row=offset, column=headers[header], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


API = "/api/v1"


def submitted_adjustment(operator, change: Decimal, person: int = 0) -> int:
    """A base adjustment started and submitted for review, its one row raising a person's
    月缴存额 by at least `change` (the rates come from the person's current amounts).
    Returns the application's id."""
    people = operator.get(f"{API}/persons?status=01&per_page=20").json["items"]
    chosen = sorted(people, key=lambda p: Decimal(p["base"]))[person]
    base = Decimal(chosen["base"])
    rates = Decimal(chosen["monthly_amount"]) / base
    new_base = (base + change / rates).quantize(Decimal("1"), rounding=ROUND_CEILING)
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert started.status_code == 201, started.json
    instance_id, task_id = started.json["instance_id"], started.json["tasks"][0]["task_id"]
    added = operator.post(f"{API}/instances/{instance_id}/manifest/rows",
                          {"person_account": chosen["person_account"], "new_base": str(new_base)})
    assert added.status_code == 201, added.json
    submitted = operator.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "调整"}})
    assert submitted.status_code == 200, submitted.json
    return instance_id


def claim_review(reviewer, instance_id: int) -> str:
    """The reviewer claims the application's waiting review; its task id."""
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    task_id = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{task_id}/claim").status_code == 200
    return task_id


def decide(reviewer, instance_id: int, decision: str = "approve", opinion: str = "同意") -> dict:
    """The reviewer claims the application's waiting review and decides; returns the
    application as the API answers after it."""
    task_id = claim_review(reviewer, instance_id)
    done = reviewer.post(f"{API}/tasks/{task_id}/complete",
                         {"data": {"decision": decision, "opinion": opinion}})
    assert done.status_code == 200, done.json
    return done.json


def resubmit(operator, instance_id: int) -> None:
    """After a rejection the unit submits the application again unchanged."""
    todo = operator.get(f"{API}/tasks?list=todo").json["items"]
    task_id = next(t["task_id"] for t in todo if t["instance_id"] == instance_id)
    done = operator.post(f"{API}/tasks/{task_id}/complete", {"data": {"remark": "已核实"}})
    assert done.status_code == 200, done.json


def start(api, key: str) -> tuple[int, str]:
    """A new application of the business `key`: (instance id, its first task's id)."""
    response = api.post(f"/api/v1/processes/{key}/instances", {"data": {}})
    assert response.status_code == 201, response.json
    return response.json["instance_id"], response.json["tasks"][0]["task_id"]


def add(api, instance_id: int, **row):
    """录入清册: one row through the API, the answer as it came."""
    return api.post(f"/api/v1/instances/{instance_id}/manifest/rows", row)


def numbers(app, demo, status: str, unit: int = 0) -> list[str]:
    """The 个人账号 of a demo unit's persons in `status`, in order."""
    with app.app_context():
        found = list(db.session.execute(select(PersonAccount.account_no).where(
            PersonAccount.unit_id == unit_id_of(app, demo, unit),
            PersonAccount.status == status).order_by(PersonAccount.account_no)).scalars())
        db.session.remove()
        return found

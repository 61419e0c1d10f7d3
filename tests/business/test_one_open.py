"""One open 基数调整 per unit, and a person in at most one open application of a
business: rules the database enforces, so racing requests cannot break them."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.models import RUNNING, ProcessInstance
from services import manifest_rows
from services.db import db

API = "/api/v1"
RACERS = 20


def test_twenty_simultaneous_starts_open_exactly_one_application(app, make_api):
    clients = [make_api().login_operator() for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = []

    def start(api):
        barrier.wait()
        response = api.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
        statuses.append(response.status_code)
        if response.status_code == 409:
            assert "已有一笔未办结的基数调整" in response.json["message"] \
                or "刚刚已被他人办理" in response.json["message"]

    threads = [threading.Thread(target=start, args=(api,)) for api in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(statuses) == [201] + [409] * (RACERS - 1)
    with app.app_context():
        running = db.session.execute(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.process_key == "base_adjustment",
            ProcessInstance.status == RUNNING)).scalar_one()
        assert running == 1


def test_a_finished_application_frees_its_place_and_its_people(make_api):
    operator = make_api().login_operator()
    first = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    operator.post(f"{API}/instances/{first['instance_id']}/manifest/rows",
                  {"person_account": person["person_account"], "new_base": "6000"})
    assert operator.post(f"{API}/instances/{first['instance_id']}/terminate",
                         {"reason": ""}).status_code == 200
    second = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert second.status_code == 201
    again = operator.post(f"{API}/instances/{second.json['instance_id']}/manifest/rows",
                          {"person_account": person["person_account"], "new_base": "6000"})
    assert again.status_code == 201, again.json


def test_the_database_refuses_one_person_in_two_open_applications_of_a_business(ctx):
    row = manifest_rows.NewRow("200000000001", None, {})
    manifest_rows.add_rows(1001, "transfer", [row])
    db.session.flush()
    with pytest.raises(IntegrityError):
        manifest_rows.add_rows(1002, "transfer", [row])
        db.session.flush()
    db.session.rollback()
    manifest_rows.add_rows(1001, "transfer", [row])
    manifest_rows.close(1001)
    manifest_rows.add_rows(1002, "transfer", [row])  # once the first ended, it may
    manifest_rows.add_rows(1003, "status_change", [row])  # another business is its own
    db.session.flush()
    assert manifest_rows.open_keys("transfer", [row.key]) == {row.key: 1002}
    db.session.rollback()

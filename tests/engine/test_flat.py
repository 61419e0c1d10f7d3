"""What keeps each action's cost flat: the statements an action or a page runs do not
grow with data it does not touch (more finished applications, a longer 清册), and every
list query reads an index range in the order it shows, with no scan and no sort.

Statements are counted with SQLite's own trace (which sees the engine's direct write path
too), so these run on the SQLite suite; the shapes they guard hold on any database.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from services.db import db

API = "/api/v1"
pytestmark = pytest.mark.skipif("HPF_TEST_DB" in __import__("os").environ
                                and __import__("os").environ["HPF_TEST_DB"] != "sqlite",
                                reason="statement tracing is SQLite's")


@contextmanager
def statements(app):
    """Every SQL statement the app runs inside the block, with its values."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def traced(dbapi_connection, record, proxy):
        dbapi_connection.set_trace_callback(seen.append)

    event.listen(engine, "checkout", traced)
    try:
        yield seen
    finally:
        event.remove(engine, "checkout", traced)
        engine.dispose()  # connections traced so far are closed, not reused untraced-off


def query_plan(sql: str, outer_only: bool = False) -> str:
    """SQLite's plan for a traced statement, its steps joined by " / " (inside an app
    context); `outer_only`: without the steps of correlated subqueries (each reads one
    application's own few rows)."""
    rows = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql.replace(":", "\\:"))).all()
    inner = set()
    for node, parent, _, detail in rows:
        if parent in inner or detail.startswith("CORRELATED"):
            inner.add(node)
    return " / ".join(row[3] for row in rows if not (outer_only and row[0] in inner))


def finished_application(operator, reviewer) -> int:
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    operator.post(f"{API}/instances/{started['instance_id']}/manifest/rows",
                  {"person_account": person["person_account"], "new_base": "6000"})
    done = operator.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete",
                         {"data": {}}).json
    review = done["tasks"][0]["task_id"]
    reviewer.post(f"{API}/tasks/{review}/claim")
    reviewer.post(f"{API}/tasks/{review}/complete", {"data": {"decision": "approve"}})
    return started["instance_id"]


def copies(app, instance_id: int, count: int) -> None:
    """`count` more finished applications like `instance_id`, by SQL."""
    with app.app_context():
        conn = db.session.connection()

        def rows(table, column):
            return [dict(r._mapping) for r in conn.execute(sa.text(
                f"SELECT * FROM {table} WHERE {column} = :id"), {"id": instance_id})]

        instance, tasks = rows("process_instance", "id")[0], rows("human_task", "instance_id")
        events = rows("history_event", "instance_id")
        first = conn.execute(sa.text("SELECT max(id) FROM process_instance")).scalar() + 1
        for new_id in range(first, first + count):
            ids = {t["id"]: str(uuid.uuid4()) for t in tasks}
            for table, values in (
                    ("process_instance", [{**instance, "id": new_id}]),
                    ("human_task", [{**t, "id": ids[t["id"]], "instance_id": new_id}
                                    for t in tasks]),
                    ("history_event", [{**{k: v for k, v in e.items() if k != "id"},
                                        "instance_id": new_id} for e in events])):
                columns = list(values[0])
                conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                     f"({', '.join(':' + c for c in columns)})"), values)
        db.session.commit()


PAGES = ["/", f"{API}/tasks?list=done", f"{API}/tasks?list=initiated", "/tasks?list=done",
         f"{API}/tasks?list=todo", f"{API}/counters", "/messages"]


def test_pages_run_the_same_statements_however_many_applications_exist(app, make_api):
    """Once a list fills its page (a shorter page is the whole list: its count is known
    without counting), more applications add no statement."""
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    finished = finished_application(operator, reviewer)
    copies(app, finished, 60)  # every list's page is full
    for page in PAGES:  # what a process reads once (the centre's name) is read now
        operator.get(page)
    before = {}
    for page in PAGES:
        with statements(app) as seen:
            assert operator.get(page).status_code == 200
        before[page] = len(seen)
    copies(app, finished, 300)
    for page in PAGES:
        with statements(app) as seen:
            assert operator.get(page).status_code == 200
        assert len(seen) == before[page], page
    with statements(app) as seen:
        assert reviewer.get("/centre").status_code == 200
    desk = len(seen)
    copies(app, finished, 100)
    with statements(app) as seen:
        assert reviewer.get("/centre").status_code == 200
    assert len(seen) == desk


def test_home_runs_one_statement_per_thing_it_shows(app, make_api):
    """Home, the most opened page: the login (checked, and whole for the header), the unit
    with its account, balances and active persons' totals, one statement per task preview
    (待办 fits its page, so it is not counted; each row's latest opinion or latest task comes
    with it), the latest messages with the unread count."""
    operator = make_api().login_operator()
    # every preview holds rows: one application finished, another waiting for the unit
    finished_application(operator, make_api().login_reviewer())
    assert operator.post(f"{API}/processes/base_adjustment/instances",
                         {"data": {}}).status_code == 201
    operator.get("/")
    with statements(app) as seen:
        page = operator.get("/")
    assert page.status_code == 200
    assert len(seen) == 6, seen
    assert sum("FROM unit" in s and "person_account" in s for s in seen) == 1
    assert sum("FROM message" in s for s in seen) == 1


def test_the_desk_runs_one_statement_per_list(app, make_api):
    """The reviewers' desk: the login, each list (任务池, 待办, 已办) in one statement with
    each row's business, unit and latest opinion, and the centre's name for the header."""
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    finished_application(operator, reviewer)
    submitted = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    operator.post(f"{API}/instances/{submitted['instance_id']}/manifest/rows", {
        "person_account": person["person_account"], "new_base": "6100"})
    operator.post(f"{API}/tasks/{submitted['tasks'][0]['task_id']}/complete", {"data": {}})
    with statements(app) as seen:
        desk = reviewer.get("/centre")
    assert desk.status_code == 200
    assert len(seen) == 5, seen
    text = desk.get_data(as_text=True)
    assert "基数调整" in text and "示范市" in text  # the business and the unit, in the row


def test_a_list_that_fits_its_page_is_not_counted_and_a_full_one_is(app, make_api):
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    finished = finished_application(operator, reviewer)
    url = f"{API}/tasks?list=initiated&per_page=5"

    def counted() -> tuple[int, bool]:
        with statements(app) as seen:
            total = operator.get(url).json["total"]
        return total, any("count(" in s.lower() and "process_instance" in s for s in seen)

    assert counted() == (1, False)
    copies(app, finished, 4)  # five: the page is full, so the count runs
    assert counted() == (5, True)
    copies(app, finished, 1)
    assert counted() == (6, True)
    with statements(app) as seen:  # the last page is short: the total is known from it
        assert operator.get(url + "&page=2").json["total"] == 6
    assert not any("count(" in s.lower() for s in seen if "process_instance" in s)
    assert operator.get(url + "&page=3").json["total"] == 6  # past the end: counted


def test_a_manifest_edit_runs_the_same_statements_however_long_the_manifest(app, make_api):
    operator = make_api().login_operator()
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    instance_id = started["instance_id"]
    people = operator.get(f"{API}/persons?status=01&per_page=200").json["items"]

    def add_and_delete(person) -> tuple[int, int]:
        with statements(app) as added:
            row = operator.post(f"{API}/instances/{instance_id}/manifest/rows", {
                "person_account": person["person_account"], "new_base": "6000"}).json
        with statements(app) as deleted:
            assert operator.delete(f"{API}/instances/{instance_id}/manifest/rows/"
                                   f"{row['row_id']}").status_code == 200
        return len(added), len(deleted)

    small = add_and_delete(people[0])
    for person in people[1:151]:
        operator.post(f"{API}/instances/{instance_id}/manifest/rows",
                      {"person_account": person["person_account"], "new_base": "6000"})
    assert add_and_delete(people[0]) == small


def test_a_base_adjustment_entry_reads_the_due_and_verified_months_in_one_statement(
        app, make_api):
    """Every 基数调整 action asks which month a verification holds (its 生效年月 must come
    after it): the unit's 应汇缴年月 and its latest verified month are one read."""
    operator = make_api().login_operator()
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    with statements(app) as seen:
        added = operator.post(f"{API}/instances/{started['instance_id']}/manifest/rows", {
            "person_account": person["person_account"], "new_base": "6000"})
    assert added.status_code == 201, added.json
    [months] = [s for s in seen if "FROM payable" in s]
    assert "FROM unit_account" in months
    assert sum("FROM unit_account" in s for s in seen) == 1, seen
    # the application is read once, locked, with the 清册's kept totals
    [instance] = [s for s in seen if "FROM process_instance" in s]
    assert "manifest_amount_before" in instance


def test_starting_a_single_open_business_leaves_the_rule_to_the_index(app, make_api):
    """No read of the unit's open applications before the insert: the unique index on
    (unit_id, open_key) refuses a second one, which is then named (409)."""
    operator = make_api().login_operator()
    with statements(app) as seen:
        started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert started.status_code == 201, started.json
    assert not any(s.startswith("SELECT") and "open_key =" in s for s in seen), seen
    again = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert again.status_code == 409
    assert again.json["instance_id"] == started.json["instance_id"]


def test_an_action_reads_its_answer_before_it_commits(app, make_api):
    """The application as the answer shows it is read in the action's own transaction: after
    the commit it would take another (BEGIN and ROLLBACK round trips on PostgreSQL)."""
    operator = make_api().login_operator()
    with statements(app) as started_seen:
        started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    operator.post(f"{API}/instances/{started['instance_id']}/manifest/rows", {
        "person_account": person["person_account"], "new_base": "6000"})
    with statements(app) as submitted_seen:
        submitted = operator.post(f"{API}/tasks/{started['tasks'][0]['task_id']}/complete",
                                  {"data": {}})
    assert submitted.status_code == 200 and submitted.json["tasks"][0]["lane"] != "employer"
    assert started_seen[-1] == "COMMIT" and submitted_seen[-1] == "COMMIT"


def test_every_list_query_reads_an_index_in_order(app, make_api):
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    finished_application(operator, reviewer)
    queries = []
    for client, page in ((operator, "/"), (operator, f"{API}/tasks?list=done"),
                         (operator, f"{API}/tasks?list=initiated"), (reviewer, "/centre"),
                         (operator, f"{API}/counters")):
        with statements(app) as seen:
            client.get(page)
        queries += [s for s in seen if s.lstrip().upper().startswith("SELECT")
                    and any(t in s for t in ("FROM human_task", "FROM process_instance",
                                             "FROM message"))]
    assert queries
    with app.app_context():
        for sql in queries:
            plan = query_plan(sql)
            for table in ("human_task", "process_instance", "message"):
                assert f"SCAN {table}" not in plan, (sql, plan)
            # sorting is fine only among the rows of the page's own applications
            if "instance_id IN (" not in sql:
                assert "TEMP B-TREE FOR ORDER BY" not in query_plan(sql, outer_only=True), \
                    (sql, plan)


def test_a_manifest_entry_reads_rows_through_an_index(app, make_api):
    """Adding and deleting a 清册 row reads manifest_row by key or owner, never by a scan:
    its duplicate check must repeat the open-key index's condition for SQLite to use it."""
    operator = make_api().login_operator()
    instance_id = operator.post(f"{API}/processes/base_adjustment/instances",
                                {"data": {}}).json["instance_id"]
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    with statements(app) as seen:
        row = operator.post(f"{API}/instances/{instance_id}/manifest/rows", {
            "person_account": person["person_account"], "new_base": "6000"}).json
        operator.delete(f"{API}/instances/{instance_id}/manifest/rows/{row['row_id']}")
    queries = [s for s in seen if s.lstrip().upper().startswith("SELECT")
               and "FROM manifest_row" in s]
    assert any("row_key" in q for q in queries)
    with app.app_context():
        for sql in queries:
            plan = query_plan(sql)
            assert "SCAN manifest_row" not in plan, (sql, plan)


def test_task_lists_count_no_further_than_the_cap(app, make_api):
    """已办 after years of work: the pager counts to LIST_COUNT_CAP and says 以上, on the
    page and in the API, and the count stops there (its cost is bounded too)."""
    from services.db import LIST_COUNT_CAP

    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    copies(app, finished_application(operator, reviewer), LIST_COUNT_CAP)
    assert operator.get(f"{API}/tasks?list=done").json["total"] == LIST_COUNT_CAP
    assert operator.get(f"{API}/tasks?list=initiated").json["total"] == LIST_COUNT_CAP
    page = operator.get("/tasks?list=done").get_data(as_text=True)
    assert f"共 {LIST_COUNT_CAP} 条以上，第 1 页" in page
    # the pages past the count are still reachable, one after another
    beyond = LIST_COUNT_CAP // 10 + 1
    later = operator.get(f"/tasks?list=done&page={beyond}").get_data(as_text=True)
    assert f"第 {beyond} 页" in later and "下一页" in later
    small = operator.get("/tasks?list=todo").get_data(as_text=True)
    assert "以上" not in small


def test_a_unit_loads_with_its_account_and_city_in_one_statement(app, demo):
    """Checking or applying a business reads the unit's rates, status and policy: one
    statement, not one per relationship."""
    from services.units import get_unit

    with app.app_context():
        unit_id = db.session.execute(sa.text("SELECT min(id) FROM unit")).scalar()
        db.session.remove()
    with statements(app) as seen, app.app_context():
        unit = get_unit(unit_id)
        assert unit.account.unit_rate and unit.policy.base_floor and unit.city.name
        db.session.remove()
    assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1, seen


def test_a_persons_money_reads_both_halves_of_the_ledger_through_indexes(app, make_api, demo):
    """Balances on 缴存人信息查询, a depositor's statement and the 账户信息 read the
    persons' ledger rows (posted rows and allocated months' lines) by person or by unit,
    never by scanning the ledger or every 应缴's lines."""
    operator = make_api().login_operator()
    account = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    with statements(app) as seen:
        assert operator.client.get("/queries/persons?tab=accounts").status_code == 200
        assert operator.client.get(
            f"/documents/person_statement/{account['person_account']}.pdf").status_code == 200
        assert operator.get(f"{API}/units/me/account?from=2026-01-01&to=2026-12-31"
                            ).status_code == 200
    queries = [s for s in seen if s.lstrip().upper().startswith("SELECT")
               and "payable_line" in s]
    assert len(queries) >= 3
    with app.app_context():
        for sql in queries:
            plan = query_plan(sql)
            for table in ("ledger_entry", "payable_line", "payable"):
                assert f"SCAN {table}" not in plan, (sql, plan)

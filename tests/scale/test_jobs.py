"""Long work off the request: a large 清册 import answers 202 and runs as a job; a large
export runs as a job with a progress page and a download; a job that fails leaves nothing
and says why; a job delivered twice (even at once) does its work once."""

from __future__ import annotations

import io
import re
import threading
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import manifests
from engine.models import READY, HumanTask
from services import jobs, manifest_rows
from services.db import db
from services.errors import InvalidInput
from services.models import Job, Message
from services.models.job import DONE, FAILED
from tests.business.helpers import fill_template
from tests.conftest import Api, make_app

from .helpers import operator, wait_for_job

API = "/api/v1"
SMALL = 5  # rows above which work goes to a job, in these tests


@pytest.fixture
def app(databases, tmp_path):
    name = databases.clone()
    application = make_app(databases.url(name), tmp_path, ASYNC_ROWS=SMALL)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    databases.drop(name)


@pytest.fixture
def operator_api(app, demo):
    return Api(app.test_client(), demo).login_operator()


def job_status(api, job_id):
    return lambda: api.get(f"{API}/jobs/{job_id}").json


def started_adjustment(api) -> int:
    response = api.post(f"{API}/processes/base_adjustment/instances", {"data": {}})
    assert response.status_code == 201, response.json
    return response.json["instance_id"]


def adjustment_file(api, people, base="6000") -> bytes:
    template = api.get(f"{API}/processes/base_adjustment/template.xlsx?change_type=base").data
    return fill_template(template, [{"个人账号": p["person_account"], "调整后缴存基数": base}
                                    for p in people])


def upload(api, instance_id, content):
    return api.client.post(f"{API}/instances/{instance_id}/manifest/import",
                           data={"file": (io.BytesIO(content), "adjust.xlsx"),
                                 "change_type": "base"},
                           headers={"X-CSRF-Token": api.csrf()},
                           content_type="multipart/form-data")


def test_a_large_import_answers_202_and_the_job_imports_every_row(operator_api, make_api):
    people = operator_api.get(f"{API}/persons?status=01&per_page=12").json["items"]
    instance_id = started_adjustment(operator_api)

    response = upload(operator_api, instance_id, adjustment_file(operator_api, people))

    assert response.status_code == 202, response.json
    assert response.headers["Location"] == response.json["status_url"]
    status = wait_for_job(job_status(operator_api, response.json["job_id"]))
    assert status["state"] == "done", status
    assert status["result"]["imported"] == 12 and status["percent"] == 100
    assert operator_api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 12
    # only the submitter sees the job
    other = make_api().login_operator(unit=1)
    assert other.get(f"{API}/jobs/{response.json['job_id']}").status_code == 404
    page = operator_api.get(f"/jobs/{response.json['job_id']}")
    assert page.status_code == 200 and "清册导入" in page.text and "job-bar" in page.text


def test_the_pages_large_import_becomes_a_job_whose_page_leads_back_to_the_task(operator_api,
                                                                                app):
    people = operator_api.get(f"{API}/persons?status=01&per_page=12").json["items"]
    instance_id = started_adjustment(operator_api)
    with app.app_context():
        task_id = db.session.execute(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == READY)).scalar_one()
    form = {"csrf_token": operator_api.csrf(), "task_id": task_id, "change_type": "base",
            "file": (io.BytesIO(adjustment_file(operator_api, people)), "adjust.xlsx")}

    response = operator_api.client.post(f"/instances/{instance_id}/manifest/import", data=form,
                                        content_type="multipart/form-data")

    assert response.status_code == 303, response.text
    job_id = re.fullmatch(r"/jobs/([\w-]+)", response.headers["Location"]).group(1)
    status = wait_for_job(job_status(operator_api, job_id))
    assert status["state"] == "done" and status["result"]["imported"] == 12, status
    assert operator_api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 12
    page = operator_api.get(f"/jobs/{job_id}").text
    assert f'href="/tasks/{task_id}#manifest"' in page and "清册导入" in page

    # once submitted, a large file is refused at once, not by a job that fails later
    submitted = operator_api.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert submitted.status_code == 202, submitted.json  # a 清册 of 12 rows > SMALL
    assert wait_for_job(job_status(operator_api, submitted.json["job_id"]))["state"] == "done"
    content = adjustment_file(operator_api, people)
    form["file"] = (io.BytesIO(content), "adjust.xlsx")
    refused = operator_api.client.post(f"/instances/{instance_id}/manifest/import",
                                       data=form, content_type="multipart/form-data")
    assert refused.status_code == 303 and "/jobs/" not in refused.headers["Location"]
    assert upload(operator_api, instance_id, content).status_code == 409


def test_a_large_approval_is_checked_at_once_then_applied_by_a_job(operator_api, make_api,
                                                                    app):
    people = operator_api.get(f"{API}/persons?status=01&per_page=12").json["items"]
    instance_id = started_adjustment(operator_api)
    imported = upload(operator_api, instance_id, adjustment_file(operator_api, people, "6100"))
    assert wait_for_job(job_status(operator_api, imported.json["job_id"]))["state"] == "done"
    todo = operator_api.get(f"{API}/tasks?list=todo").json["items"]
    task_id = next(t["task_id"] for t in todo if t["instance_id"] == instance_id)
    submitted = operator_api.post(f"{API}/tasks/{task_id}/complete", {"data": {}})
    assert submitted.status_code == 202 and submitted.json["page_url"].startswith("/jobs/")
    assert wait_for_job(job_status(operator_api, submitted.json["job_id"]))["result"][
        "message"] == "已提交审批，可在「我发起的」中查看进度"

    reviewer, other = make_api().login_reviewer(), make_api().login_reviewer(1)
    queue = reviewer.get(f"{API}/tasks?list=group&per_page=100").json["items"]
    review = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{review}/claim").status_code == 200
    # refused at once, nothing queued: an invalid form, someone else's task
    invalid = reviewer.post(f"{API}/tasks/{review}/complete", {"data": {"decision": "maybe"}})
    assert invalid.status_code == 422 and "data.decision" in invalid.json["errors"]
    assert other.post(f"{API}/tasks/{review}/complete",
                      {"data": {"decision": "approve", "opinion": "同意"}}).status_code in (403, 409)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Job).where(
            Job.kind == "task_complete")).scalar() == 1  # the unit's submission only

    # the page's 审批 goes to the job's page; the job applies every row in one transaction
    response = reviewer.client.post(f"/tasks/{review}", data={
        "csrf_token": reviewer.csrf(), "decision": "approve", "opinion": "同意调整"})
    assert response.status_code == 303, response.text
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    status = wait_for_job(job_status(reviewer, job_id))
    assert status["state"] == "done" and status["result"]["message"] == "审批结果已提交"
    assert status["percent"] == 100 and status["total"] == 12
    assert 'href="/centre"' in reviewer.get(f"/jobs/{job_id}").text
    detail = operator_api.get(f"{API}/instances/{instance_id}").json
    assert detail["status"] == "completed"
    for person in people:
        found = operator_api.get(f"{API}/persons?q={person['person_account']}").json["items"]
        assert found[0]["base"] == "6100.00"
    # done once: the task is no longer open to anyone
    again = reviewer.post(f"{API}/tasks/{review}/complete",
                          {"data": {"decision": "approve", "opinion": "同意"}})
    assert again.status_code == 409


def test_a_large_units_month_end_verification_is_a_job_refused_at_once_when_it_must_be(
        operator_api, app):
    due = operator_api.get(f"{API}/remittance").json["month"]
    form = {"csrf_token": operator_api.csrf(), "month": due}

    response = operator_api.client.post("/remittance/verify", data=form)

    assert response.status_code == 303 and response.headers["Location"].startswith("/jobs/")
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    status = wait_for_job(job_status(operator_api, job_id))
    assert status["state"] == "done" and status["result"]["message"] == "核定成功", status
    assert status["total"] > SMALL and status["percent"] == 100
    assert 'href="/remittance"' in operator_api.get(f"/jobs/{job_id}").text
    verified = operator_api.get(f"{API}/remittances").json["items"]
    assert [v["month"] for v in verified] == [due] and verified[0]["head_count"] == status["total"]

    again = operator_api.client.post("/remittance/verify", data=form)  # the same month
    assert again.status_code == 303 and again.headers["Location"].startswith("/remittance")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Job).where(
            Job.kind == "task_complete")).scalar() == 1

    # its 明细 (more than ASYNC_ROWS persons) is exported by a job too
    lines_page = f"/remittance/{due}/lines"
    assert "后台导出" in operator_api.get(lines_page).text
    direct = operator_api.client.get(f"{lines_page}.xlsx")
    assert direct.status_code == 302 and direct.headers["Location"] == lines_page
    queued = operator_api.client.post(f"{lines_page}.xlsx", data={"csrf_token": form["csrf_token"]})
    assert queued.status_code == 303
    export_id = queued.headers["Location"].rsplit("/", 1)[1]
    assert wait_for_job(job_status(operator_api, export_id))["result"]["rows"] == status["total"]
    assert f'href="{lines_page}"' in operator_api.get(f"/jobs/{export_id}").text
    book = load_workbook(io.BytesIO(operator_api.get(f"{API}/jobs/{export_id}/result").data))
    rows = list(book.active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == status["total"]
    assert sum(Decimal(str(r[-1])) for r in rows) == Decimal(verified[0]["amount"])


def test_a_large_units_payment_and_pay_from_unallocated_are_allocated_by_jobs(
        operator_api, app, demo, make_api, monkeypatch):
    """缴款登记 for a unit of more than ASYNC_ROWS persons: the notice is checked at once,
    then a job records it and allocates; the same form again changes nothing. The unit's
    使用未分配金额缴款 goes the same way. The books agree after each."""
    from tests.money_helpers import Today, check_books, unit_id_of

    def verified_month() -> dict:
        due = operator_api.get(f"{API}/remittance").json["month"]
        done = operator_api.client.post("/remittance/verify", data={
            "csrf_token": operator_api.csrf(), "month": due})
        wait_for_job(job_status(operator_api, done.headers["Location"].rsplit("/", 1)[1]))
        return next(v for v in operator_api.get(f"{API}/remittances").json["items"]
                    if v["month"] == due)

    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    month = verified_month()
    form = {"csrf_token": finance.csrf(), "unit_account": demo["units"][0]["unit_account"],
            "amount": month["amount"], "method": "transfer", "reference": "BANK-1",
            "idempotency_key": "desk-large-1"}
    bad = finance.client.post("/centre/payments", data={**form, "amount": "-1"})
    assert bad.status_code == 422 and "缴款金额须大于 0" in bad.text  # refused at once

    response = finance.client.post("/centre/payments", data=form)

    assert response.status_code == 303 and response.headers["Location"].startswith("/jobs/")
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    status = wait_for_job(job_status(finance, job_id))
    assert status["state"] == "done" and "已分配" in status["result"]["message"], status
    assert 'href="/centre/payments"' in finance.get(f"/jobs/{job_id}").text
    unpaid = [v["month"] for v in operator_api.get(f"{API}/remittances").json["items"]]
    assert month["month"] not in unpaid  # allocated: no longer waiting for money
    check_books(app, unit_id)
    again = finance.client.post("/centre/payments", data=form)  # recorded: answered at once
    assert again.status_code == 303 and again.headers["Location"] == "/centre/payments"
    assert "已登记过" in finance.get("/centre/payments").text
    check_books(app, unit_id)

    # money ahead of the next verification stays 未分配; the unit then pays from it
    ahead = {**form, "idempotency_key": "desk-large-2", "reference": "BANK-2"}
    wait_for_job(job_status(finance, finance.client.post(
        "/centre/payments", data=ahead).headers["Location"].rsplit("/", 1)[1]))
    Today(monkeypatch).next_month()
    following = verified_month()
    pay = operator_api.client.post(f"/payables/{following['payable_id']}/pay",
                                   data={"csrf_token": operator_api.csrf()})
    assert pay.status_code == 303 and pay.headers["Location"].startswith("/jobs/")
    pay_status = wait_for_job(job_status(operator_api, pay.headers["Location"].rsplit("/", 1)[1]))
    assert pay_status["state"] == "done" and "已使用未分配金额缴纳" in pay_status["result"]["message"]
    unpaid = [v["month"] for v in operator_api.get(f"{API}/remittances").json["items"]]
    assert following["month"] not in unpaid
    check_books(app, unit_id)


def test_the_api_queues_a_large_units_verification_payment_and_pay_from_unallocated(
        operator_api, app, demo, make_api, monkeypatch):
    """The API as the pages: a large unit's 汇缴核定, 缴款 and 使用未分配金额缴款 answer 202
    and a job does the work; refusals come at once (nothing queued); a payment job's result
    is the answer a small unit gets, and the same key afterwards is answered with it (200)."""
    from tests.money_helpers import Today, check_books, unit_id_of

    finance = make_api().login_finance()
    unit_id = unit_id_of(app, demo)
    due = operator_api.get(f"{API}/remittance").json["month"]
    future = operator_api.post(f"{API}/remittances", {"month": "2099-01"})
    assert future.status_code == 422 and future.json["errors"]["month"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Job)).scalar() == 0

    verified = operator_api.post(f"{API}/remittances", {"month": due})

    assert verified.status_code == 202, verified.json
    status = wait_for_job(job_status(operator_api, verified.json["job_id"]))
    assert status["state"] == "done" and status["result"]["message"] == "核定成功"
    month = operator_api.get(f"{API}/remittances/{due}").json
    assert month["head_count"] == status["total"] > SMALL

    notice = {"unit_account": demo["units"][0]["unit_account"], "amount": month["amount"],
              "method": "transfer", "reference": "BANK-API-1", "idempotency_key": "bank-large-1"}
    bad = finance.post(f"{API}/payments", {**notice, "amount": "0"})
    assert bad.status_code == 422 and "amount" in bad.json["errors"]
    paid = finance.post(f"{API}/payments", notice)
    assert paid.status_code == 202, paid.json
    result = wait_for_job(job_status(finance, paid.json["job_id"]))["result"]
    assert result["replayed"] is False and [p["month"] for p in result["allocated"]] == [due]
    check_books(app, unit_id)
    again = finance.post(f"{API}/payments", notice)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert {k: v for k, v in again.json.items() if k != "replayed"} == \
        {k: v for k, v in result.items() if k != "replayed"}
    check_books(app, unit_id)

    ahead = finance.post(f"{API}/payments", {**notice, "idempotency_key": "bank-large-2",
                                              "reference": "BANK-API-2"})
    assert wait_for_job(job_status(finance, ahead.json["job_id"]))["result"]["allocated"] == []
    Today(monkeypatch).next_month()
    following = operator_api.post(f"{API}/remittances", {})
    wait_for_job(job_status(operator_api, following.json["job_id"]))
    item = operator_api.get(f"{API}/remittances").json["items"][0]
    pay = operator_api.post(f"{API}/payables/{item['payable_id']}/pay", {})
    assert pay.status_code == 202, pay.json
    assert "已使用未分配金额缴纳" in wait_for_job(
        job_status(operator_api, pay.json["job_id"]))["result"]["message"]
    assert operator_api.get(f"{API}/remittances").json["items"] == []
    twice = operator_api.post(f"{API}/payables/{item['payable_id']}/pay", {})
    assert twice.status_code in (409, 422) and twice.json["message"]  # refused at once
    check_books(app, unit_id)


def test_an_import_tells_its_progress_as_it_checks_and_stores_rows(ctx, demo):
    from engine import runner
    from tests.people import mobile, resident_id

    actor = operator(demo)
    instance_id = runner.start("registration", actor.unit_id, actor).id
    template = manifests.template("registration", actor.unit_id, None, False)[0]
    content = fill_template(template, [
        {"姓名": f"进度{n}", "证件号码": resident_id(900_000 + n), "手机号码": mobile(n),
         "缴存基数": "5000"} for n in range(2500)])
    heard: list[tuple[int, int | None]] = []

    result = manifests.import_file(instance_id, actor, content,
                                   progress=lambda done, total=None: heard.append((done, total)))

    assert result["imported"] == 2500
    assert heard[0] == (0, 2500) and heard[-1] == (2500, 2500)
    done = [d for d, _ in heard]
    assert done == sorted(done)
    assert any(0 < d < 2000 for d in done)  # while checking
    assert any(2000 <= d < 2500 for d in done) or len(heard) > 3  # then storing


def test_a_large_import_with_a_bad_row_imports_nothing_and_the_job_says_which_row(operator_api):
    people = operator_api.get(f"{API}/persons?status=01&per_page=8").json["items"]
    instance_id = started_adjustment(operator_api)
    content = adjustment_file(operator_api, people[:7])
    rows = fill_template(content, [{"个人账号": people[7]["person_account"],
                                    "调整后缴存基数": "99999999"}])

    response = upload(operator_api, instance_id, rows)

    assert response.status_code == 202
    status = wait_for_job(job_status(operator_api, response.json["job_id"]))
    assert status["state"] == "failed" and status["result"] is None
    assert status["errors"] and status["errors"][0]["row"] == 2
    assert "缴存基数" in status["errors"][0]["message"]
    assert operator_api.get(f"{API}/instances/{instance_id}/manifest").json["count"] == 0


def test_a_large_export_runs_in_the_background_and_downloads_every_row(app, demo):
    from tests.web.test_login import login
    client = app.test_client()
    login(client, demo)
    page = client.get("/queries/persons").text
    total = int(re.search(r"共 (\d+) 条", page).group(1))
    assert "后台导出" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # the direct link no longer builds a large file inside the request
    assert client.get("/queries/persons/accounts.xlsx").status_code == 302

    response = client.post("/queries/persons/accounts.xlsx", data={"csrf_token": token})

    assert response.status_code == 303
    job_id = response.location.rsplit("/", 1)[-1]
    status = wait_for_job(lambda: client.get(f"{API}/jobs/{job_id}").json)
    assert status["state"] == "done" and status["total"] == total and status["done"] == total
    assert status["download"].startswith("缴存人账户信息_")
    book = load_workbook(io.BytesIO(client.get(f"{API}/jobs/{job_id}/result").data))
    assert book.active.max_row == total + 1  # header + every account


# -- the interface itself ---------------------------------------------------------------------

calls: list[str] = []
#: Set by a test to hold two deliveries inside the handler together.
barrier: threading.Barrier | None = None


@jobs.handler("test_note", "测试任务")
def note_job(ctx: jobs.JobContext) -> dict:
    calls.append(ctx.id)
    if ctx.payload.get("together"):
        barrier.wait(timeout=10)
    db.session.add(Message(unit_id=ctx.unit_id, business="测试", content=ctx.payload["text"]))
    db.session.flush()
    if ctx.payload.get("fail"):
        raise InvalidInput("第 3 行有误，未做任何更改", [{"row": 3, "column": "姓名",
                                                      "message": "姓名不能为空"}])
    if ctx.payload.get("crash"):
        raise RuntimeError("a bug")
    ctx.progress(10, 10)
    return {"written": 1}


def notes(text: str) -> int:
    return db.session.execute(select(func.count()).select_from(Message)
                              .where(Message.content == text)).scalar_one()


def submitted(ctx, demo, **payload) -> str:
    actor = operator(demo)
    job_id = jobs.submit("test_note", payload, owner=actor.key, unit_id=actor.unit_id)
    db.session.commit()
    return job_id


@pytest.fixture
def no_backend(ctx):
    """Jobs queued but not run, so a test runs them by hand."""
    ctx.extensions["hpf_jobs"] = type("Hold", (), {"enqueue": lambda self, job_id: None})()
    return ctx


def test_a_job_that_fails_leaves_nothing_and_says_why(no_backend, demo):
    bad = submitted(no_backend, demo, text="bad", fail=True)
    crash = submitted(no_backend, demo, text="crash", crash=True)

    assert jobs.run(bad) == FAILED and jobs.run(crash) == FAILED

    assert notes("bad") == 0 and notes("crash") == 0
    view = jobs.describe(db.session.get(Job, bad))
    assert view["error"] == "第 3 行有误，未做任何更改"
    assert view["errors"] == [{"row": 3, "column": "姓名", "message": "姓名不能为空"}]
    assert "未做任何更改" in db.session.get(Job, crash).error


def test_a_job_delivered_again_after_it_finished_does_nothing(no_backend, demo):
    job_id = submitted(no_backend, demo, text="once")
    assert jobs.run(job_id) == DONE
    calls.clear()

    assert jobs.run(job_id) == DONE

    assert calls == [] and notes("once") == 1
    job = db.session.get(Job, job_id)
    assert job.attempts == 1 and job.done == job.total == 10


def test_two_deliveries_of_one_job_at_once_commit_its_work_once(no_backend, demo):
    """Both run the handler (a duplicate message, a retry racing a slow worker); the one
    that finishes second finds the job done and rolls its own work back."""
    global barrier
    barrier = threading.Barrier(2)
    job_id = submitted(no_backend, demo, text="twice", together=True)
    states = []

    def deliver():
        with no_backend.app_context():
            try:
                states.append(jobs.run(job_id))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert states == [DONE, DONE]
    db.session.expire_all()
    assert notes("twice") == 1
    assert db.session.get(Job, job_id).attempts == 2


def test_a_job_is_queued_only_when_its_transaction_commits(ctx, demo):
    queued = []
    ctx.extensions["hpf_jobs"] = type("Record", (), {"enqueue": lambda self, i: queued.append(i)})()
    actor = operator(demo)
    jobs.submit("test_note", {"text": "rolled back"}, owner=actor.key, unit_id=actor.unit_id)
    db.session.rollback()
    kept = jobs.submit("test_note", {"text": "kept"}, owner=actor.key, unit_id=actor.unit_id)
    assert queued == []
    db.session.commit()
    assert queued == [kept]
    assert db.session.execute(select(func.count()).select_from(Job)).scalar_one() == 1


def test_rows_of_an_import_stay_out_until_the_job_commits(no_backend, demo):
    """The import job's work is one transaction with its done mark (engine/jobs.py)."""
    from engine import manifests
    from engine.jobs import submit_import
    actor = operator(demo)
    from engine import runner
    instance = runner.start("base_adjustment", actor.unit_id, actor)
    db.session.commit()
    job_id = submit_import(instance.id, actor, b"not a workbook", "base")
    db.session.commit()
    assert jobs.run(job_id) == FAILED
    assert "xlsx" in db.session.get(Job, job_id).error
    assert manifest_rows.aggregate(instance.id).count == 0
    assert manifests.spec_for("base_adjustment")  # the business has a 清册


def test_the_cli_shows_a_jobs_progress_and_result(no_backend, demo, tmp_path):
    import subprocess

    from .helpers import HPF, hpf_env
    job_id = submitted(no_backend, demo, text="cli")
    assert jobs.run(job_id) == DONE
    env = hpf_env(HPF_DATABASE_URL=no_backend.config["SQLALCHEMY_DATABASE_URI"],
                  HPF_INSTANCE_DIR=str(tmp_path))

    done = subprocess.run([*HPF, "job", job_id, "--wait"], env=env, capture_output=True,
                          text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert "[####################] 100% 10/10 已完成" in done.stdout
    assert '"written": 1' in done.stdout


def test_jobs_a_stopped_server_left_are_queued_again_at_start(ctx, demo):
    queued = []
    ctx.extensions["hpf_jobs"] = type("Record", (), {"enqueue": lambda self, i: queued.append(i)})()
    waiting = submitted(ctx, demo, text="left queued")
    running = submitted(ctx, demo, text="left running")
    finished = submitted(ctx, demo, text="finished")
    db.session.get(Job, running).state = "running"
    db.session.get(Job, finished).state = DONE
    db.session.commit()
    queued.clear()

    assert jobs.recover() == 2

    assert sorted(queued) == sorted([waiting, running])

"""The production stack on this machine: PostgreSQL, RabbitMQ, `hpf serve --production`
(gunicorn, two worker processes), one Celery worker (`hpf worker`) and `hpf beat`, each
on loopback with a free port and a queue of its own, driven over HTTP as users would:

- a base adjustment: start, add rows, submit; a reviewer claims and approves;
- 200 idle TCP connections do not delay anyone else's request by more than 100 ms;
- a 3,000-row 清册 import answers 202; its Celery worker is killed (SIGKILL) while the
  job is inside its transaction, a new worker is started, and the import completes
  exactly once (3,000 rows, not 0, not 6,000);
- a diagram's timer falls due and beat has the worker fire it.

PostgreSQL suite only (the stack's database); skipped when RabbitMQ does not answer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from engine import runner
from engine.deploy import deploy
from services.db import db
from services.models import PersonAccount, UnitAccount
from tests.business.helpers import fill_template
from tests.ukey import certificate, sign

from . import helpers
from .helpers import HPF, ROOT, free_port, hpf_env, idle_connection_delay

BROKER = os.environ.get("HPF_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")
BIG_UNIT_ROWS = 3000
TIMER_DIAGRAM = ROOT / "tests" / "diagrams" / "timer_reminder.bpmn"


def rabbitmq_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


class Http:
    """A browser-like JSON client: cookies kept, the CSRF token sent on writes."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = None

    def call(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        data = body
        headers = dict(headers or {})
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["X-CSRF-Token"] = self.token or self.csrf()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def csrf(self) -> str:
        self.token = self.call("GET", "/api/v1/auth/csrf")[1]["csrf_token"]
        return self.token

    def login(self, **credentials) -> Http:
        status, body = self.call("POST", "/api/v1/auth/login", credentials)
        assert status == 200, body
        self.csrf()  # a login renews the token
        return self

    def login_unit(self, unit: dict, operator: dict) -> Http:
        """A unit operator: password and the UKey's signature (made with the card's key)."""
        challenge = self.call("GET", "/api/v1/auth/challenge")[1]
        return self.login(unit_account=unit["unit_account"], login_name=operator["login_name"],
                          password=operator["password"], ukey={
                              "certificate": certificate(unit),
                              "challenge_id": challenge["challenge_id"],
                              "signature": sign(unit, challenge["nonce"])})

    def upload(self, path: str, content: bytes, fields: dict):
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 .encode() for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="big.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.call("POST", path, body,
                         {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.fixture
def stack(databases, tmp_path):
    if not databases.is_postgres:
        pytest.skip("the production stack runs on PostgreSQL (the PostgreSQL suite runs it)")
    if not rabbitmq_answers():
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672")
    name = databases.clone()
    url = databases.url(name)
    queue = f"hpf_test_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = hpf_env(HPF_DATABASE_URL=url, HPF_INSTANCE_DIR=str(tmp_path), HPF_PORT=str(port),
                  HPF_SECRET_KEY=uuid.uuid4().hex, HPF_WORKERS="2", HPF_THREADS="4",
                  HPF_BROKER_URL=BROKER, HPF_JOB_QUEUE=queue, HPF_ASYNC_ROWS="1000",
                  HPF_TIMER_INTERVAL="1",
                  HPF_ACCESS_LOG=str(tmp_path / "access.log"))
    processes: dict[str, subprocess.Popen] = {}

    def start(role: str, *args: str) -> subprocess.Popen:
        log = open(tmp_path / f"{role}.log", "ab")
        processes[role] = subprocess.Popen([*HPF, *args], env=env, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        return processes[role]

    start("web", "serve", "--production")
    start("worker", "worker", "-c", "1")
    start("beat", "beat")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or processes["web"].poll() is not None:
            raise AssertionError((tmp_path / "web.log").read_text())
        time.sleep(0.2)
    try:
        yield {"base": base, "url": url, "start": start, "processes": processes,
               "logs": tmp_path, "queue": queue}
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        from kombu import Connection
        with Connection(BROKER) as connection:
            connection.default_channel.queue_delete(queue)
        databases.drop(name)


def adjustment_file(client: Http, accounts: list[str]) -> bytes:
    """The hall's own template, downloaded and filled in."""
    request = urllib.request.Request(
        client.base + "/api/v1/processes/base_adjustment/template.xlsx?change_type=base")
    with client.opener.open(request, timeout=30) as response:
        template = response.read()
    return fill_template(template, [{"个人账号": a, "调整后缴存基数": "6000.01"} for a in accounts])


def test_the_production_stack_serves_a_base_adjustment_and_a_killed_import_once(
        stack, demo, tmp_path, databases):
    base = stack["base"]
    unit = demo["units"][0]
    operator = Http(base).login_unit(unit, unit["operators"][0])
    reviewer = Http(base).login(login_name=demo["reviewers"][0]["login_name"],
                                password=demo["reviewers"][0]["password"])

    # a base adjustment, end to end, on whichever worker process each request lands
    status, started = operator.call("POST", "/api/v1/processes/base_adjustment/instances",
                                    {"data": {}})
    assert status == 201, started
    instance_id, edit_task = started["instance_id"], started["tasks"][0]["task_id"]
    people = operator.call("GET", "/api/v1/persons?status=01&per_page=3")[1]["items"]
    for person in people:
        status, row = operator.call("POST", f"/api/v1/instances/{instance_id}/manifest/rows",
                                    {"person_account": person["person_account"],
                                     "new_base": "8000"})
        assert status == 201, row
    status, body = operator.call("POST", f"/api/v1/tasks/{edit_task}/complete",
                                 {"data": {"remark": "生产环境测试"}})
    assert status == 200, body
    review = next(t["task_id"] for t in reviewer.call("GET", "/api/v1/tasks?list=group")[1]["items"]
                  if t["instance_id"] == instance_id)
    assert reviewer.call("POST", f"/api/v1/tasks/{review}/claim")[0] == 200
    status, body = reviewer.call("POST", f"/api/v1/tasks/{review}/complete",
                                 {"data": {"decision": "approve", "opinion": "同意"}})
    assert status == 200 and body["status"] == "completed", body
    assert {p["base"] for p in operator.call("GET", "/api/v1/persons?status=01&per_page=3")[1]
            ["items"]} == {"8000.00"}

    # 200 idle connections do not hold anyone up
    def login_page() -> None:
        with urllib.request.urlopen(base + "/login", timeout=10) as response:
            assert response.status == 200

    quiet, crowded = idle_connection_delay(int(base.rsplit(":", 1)[1]), login_page,
                                           samples=5, settle=0.2)
    assert crowded - quiet < 0.1, (quiet, crowded)

    # a big unit: 3,000 depositors, made the way `hpf seed-scale` makes them
    app = _app(stack["url"], tmp_path, databases.ca_dir)
    with app.app_context():
        from web.seed_scale import seed_scale
        seed_scale(units=1, persons_per_unit=BIG_UNIT_ROWS, months=1, applications=1,
                   echo=lambda _: None)
        deploy(TIMER_DIAGRAM.read_bytes(), TIMER_DIAGRAM.name, "test")
        actor = helpers.operator(demo, unit=1)
        timed_instance = runner.start("timer_reminder", actor.unit_id, actor).id  # due in 1 s
        db.session.commit()
        big = db.session.execute(select(UnitAccount).join(PersonAccount, PersonAccount.unit_id
                                                          == UnitAccount.unit_id)
                                 .order_by(UnitAccount.id.desc()).limit(1)).scalar_one()
        accounts = list(db.session.execute(select(PersonAccount.account_no).where(
            PersonAccount.unit_id == big.unit_id, PersonAccount.status == "01")).scalars())
        big_unit = {"unit_account": big.account_no, "ukey": issued_ukey(app, big.account_no)}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    assert len(accounts) == BIG_UNIT_ROWS
    employer = Http(base).login_unit(big_unit, {"login_name": "jbr01",
                                                "password": unit["operators"][0]["password"]})
    status, started = employer.call("POST", "/api/v1/processes/base_adjustment/instances",
                                    {"data": {}})
    assert status == 201, started
    big_instance = started["instance_id"]

    # the timer (due 1 s after its start) is fired by beat and the worker first: its
    # completion writes the 清册 table too, so under the lock below it would hold the
    # only worker process and the import job would never start
    watcher = sa.create_engine(stack["url"])

    def timer_fired() -> bool:
        with watcher.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(*) FROM history_event WHERE instance_id = :i AND type = 'timer'"),
                {"i": timed_instance}).scalar() == 1
    _wait(timer_fired, "beat did not fire the due timer", log=stack["logs"] / "beat.log")

    # hold the 清册 table so the job stops inside its transaction, at its first write
    holder = sa.create_engine(stack["url"]).connect()
    holder.execute(sa.text("LOCK TABLE manifest_row IN SHARE MODE"))
    status, queued = employer.upload(f"/api/v1/instances/{big_instance}/manifest/import",
                                     adjustment_file(employer, accounts),
                                     {"change_type": "base"})
    assert status == 202, queued
    job_id = queued["job_id"]
    _wait(lambda: _stuck_on_lock(watcher),
          lambda: f"the job never reached its write: {employer.call('GET', f'/api/v1/jobs/{job_id}')}",
          seconds=60, log=stack["logs"] / "worker.log")  # both suites at once: a loaded machine
    assert employer.call("GET", f"/api/v1/jobs/{job_id}")[1]["state"] == "running"

    worker = stack["processes"]["worker"]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    stack["start"]("worker", "worker", "-c", "1")
    holder.rollback()
    holder.close()

    _wait(lambda: employer.call("GET", f"/api/v1/jobs/{job_id}")[1]["state"] in ("done", "failed"),
          "the import did not finish after the restart", seconds=40,
          log=stack["logs"] / "worker.log")
    job = employer.call("GET", f"/api/v1/jobs/{job_id}")[1]
    assert job["state"] == "done", job
    assert job["result"]["imported"] == BIG_UNIT_ROWS and job["attempts"] == 2
    manifest = employer.call("GET", f"/api/v1/instances/{big_instance}/manifest?per_page=1")[1]
    assert manifest["count"] == BIG_UNIT_ROWS
    with watcher.connect() as connection:
        attempts = connection.execute(sa.text("SELECT attempts FROM job WHERE id = :id"),
                                      {"id": job_id}).scalar()
    assert attempts == 2
    watcher.dispose()
    log = (stack["logs"] / "access.log").read_text()
    assert "POST /api/v1/tasks/" in log and "ms " in log  # access log with request time


def _app(url: str, tmp_path, ca_dir):
    from tests.conftest import make_app
    return make_app(url, tmp_path, UKEY_CA_DIR=str(ca_dir))


def _stuck_on_lock(engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND (query ILIKE 'INSERT INTO manifest_row%' "
            "OR query ILIKE 'COPY manifest_row%')")).scalar())  # many rows go by COPY


def _wait(condition, message: str, seconds: float = 20, log=None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            message = message() if callable(message) else message
            raise AssertionError(f"{message}\n{log.read_text()[-3000:] if log else ''}")
        time.sleep(0.1)


def issued_ukey(app, unit_account: str) -> dict:
    """A UKey for a unit seed-scale made (it has none), described as demo.json does."""
    from pathlib import Path

    from services.ukey.registry import issue_ukey

    keys = Path(app.config["INSTANCE_DIR"]) / "ukeys"
    keys.mkdir(exist_ok=True)
    issued = issue_ukey(unit_account, Path(app.config["UKEY_CA_DIR"]), keys)
    return {"card_key_file": str(issued.key_file),
            "certificate_file": str(issued.certificate_file), "pin": issued.pin}

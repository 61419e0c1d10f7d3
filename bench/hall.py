"""What the benchmarks share: a hall served in its own process (`hpf serve`), an HTTP
client with the hall's session and CSRF token, and bulk data added by SQL (persons,
copies of a finished application) so large sizes take seconds to build."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from services.ukey.keys import load_signer

ROOT = Path(__file__).resolve().parent.parent
HPF = ROOT / ".venv" / "bin" / "hpf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Client:
    """One keep-alive connection with the hall's session cookie and CSRF token. Timed
    requests record wall time and, when the server is known, the server's CPU time (on
    a busy machine the wall time says more about the machine than about the hall)."""

    def __init__(self, port: int, server: Server | None = None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""
        self.token = ""
        self.server = server
        self.cpu: dict[str, list[float]] = {}

    def request(self, method: str, path: str, body=None, headers=None, json_answer=True):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        if method != "GET":
            headers.setdefault("X-CSRF-Token", self.token)
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if json_answer and data else data

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body):
        return self.request("POST", path, body)

    def timed(self, samples: dict, step: str, method: str, path: str, body, json_answer=True):
        cpu = self.server.cpu_seconds() if self.server else 0.0
        started = time.perf_counter()
        answer = self.request(method, path, body, json_answer=json_answer)
        samples.setdefault(step, []).append(time.perf_counter() - started)
        if self.server:
            samples.setdefault(f"{step} [cpu]", []).append(self.server.cpu_seconds() - cpu)
        return answer

    def login(self, credentials: dict) -> Client:
        if not self.token:
            self.token = self.get("/api/v1/auth/csrf")["csrf_token"]
        answer = self.post("/api/v1/auth/login", credentials)
        self.token = answer["csrf_token"]
        return self


class Server:
    """`hpf init-db`, `seed-demo`, then `hpf serve` on a free loopback port."""

    def __init__(self, url: str, workdir: Path):
        self.url, self.workdir, self.port = url, workdir, free_port()
        self.env = {**os.environ, "HPF_DATABASE_URL": url, "HPF_INSTANCE_DIR": str(workdir),
                    "HPF_PORT": str(self.port), "HPF_SECRET_KEY": "bench",
                    # Imports answered in the request, not as a background job: the
                    # figure is the import path's own time.
                    "HPF_ASYNC_ROWS": "1000000"}
        self.process = None

    def start(self) -> None:
        for command in ("init-db", "seed-demo"):
            subprocess.run([HPF, command], env=self.env, check=True, capture_output=True)
        self.process = subprocess.Popen([HPF, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        self.demo = json.loads((self.workdir / "demo.json").read_text())

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)

    def cpu_seconds(self) -> float:
        """CPU time the server process has used (user + system), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def operator(self) -> Client:
        """Logged in as a unit operator does: password and the UKey's signature over the
        session's challenge (made here with the demo card's key, as the card would)."""
        unit = self.demo["units"][0]
        client = Client(self.port, self)
        client.token = client.get("/api/v1/auth/csrf")["csrf_token"]
        challenge = client.get("/api/v1/auth/challenge")
        signer = load_signer(Path(unit["ukey"]["card_key_file"]).read_bytes())
        signature = base64.b64encode(signer.sign(challenge["nonce"].encode())).decode()
        return client.login({"unit_account": unit["unit_account"],
                             "login_name": unit["operators"][0]["login_name"],
                             "password": unit["operators"][0]["password"],
                             "ukey": {"certificate": Path(unit["ukey"]["certificate_file"])
                                      .read_text(),
                                      "challenge_id": challenge["challenge_id"],
                                      "signature": signature}})

    def reviewer(self) -> Client:
        info = self.demo["reviewers"][0]
        return Client(self.port, self).login({"login_name": info["login_name"],
                                        "password": info["password"]})

    def unit_id(self) -> int:
        engine = sa.create_engine(self.url)
        with engine.connect() as connection:
            found = connection.execute(sa.text(
                "SELECT unit_id FROM unit_account WHERE account_no = :no"),
                {"no": self.demo["units"][0]["unit_account"]}).scalar_one()
        engine.dispose()
        return found

    def rss(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    @contextmanager
    def peak_rss(self):
        """The highest resident memory seen while the block runs (sampled every 5 ms)."""
        peak = _Peak(self.rss())
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak.value = max(peak.value, self.rss())
                time.sleep(0.005)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield peak
        finally:
            stop.set()
            thread.join()
            peak.value = max(peak.value, self.rss())


@dataclass
class _Peak:
    value: int


def _app(url: str, workdir: Path):
    from web import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(workdir),
                       "DEPLOY_ON_START": False, "SECRET_KEY": "bench"})


def engine_completion_ms(url: str, workdir: Path, cycles: int) -> tuple[float, float]:
    """runner.complete + commit for the same two completions the HTTP cycle makes (submit,
    approve), in this process on the same database: median wall ms and mean CPU ms."""
    from sqlalchemy import select

    from engine import manifests, runner
    from engine.actors import OPERATOR, STAFF, Actor
    from engine.models import READY, HumanTask
    from services.db import db
    from services.models import Operator, PersonAccount, Staff

    app = _app(url, workdir)
    times, cpu = [], []
    with app.app_context():
        op = db.session.execute(select(Operator).order_by(Operator.id).limit(1)).scalar_one()
        rv = db.session.execute(select(Staff).where(Staff.role == "reviewer")
                                .order_by(Staff.id).limit(1)).scalar_one()
        operator = Actor(kind=OPERATOR, id=op.id, name=op.name, unit_id=op.unit_id)
        reviewer = Actor(kind=STAFF, id=rv.id, name=rv.name, groups=frozenset({rv.group}))
        accounts = db.session.execute(select(PersonAccount.account_no, PersonAccount.base).where(
            PersonAccount.unit_id == op.unit_id, PersonAccount.status == "01")
            .limit(200)).all()

        def ready(instance_id: int) -> str:
            return db.session.execute(select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == READY)).scalar_one()

        for index in range(cycles + 3):
            instance = runner.start("base_adjustment", op.unit_id, operator)
            account, base = accounts[index % len(accounts)]
            manifests.add_row(instance.id, operator, {"person_account": account,
                                                      "new_base": str(base + 50)})
            db.session.commit()
            for actor, data in ((operator, {"remark": "基准"}),
                                (reviewer, {"decision": "approve", "opinion": "同意"})):
                task_id = ready(instance.id)
                if actor is reviewer:
                    runner.claim(task_id, reviewer)
                    db.session.commit()
                db.session.expire_all()
                started, started_cpu = time.perf_counter(), time.process_time()
                runner.complete(task_id, actor, data)
                db.session.commit()
                if index >= 3:
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
        db.session.remove()
        db.engine.dispose()
    return statistics.median(times) * 1000, statistics.mean(cpu) * 1000


def add_persons(url: str, unit_id: int, count: int) -> list[str]:
    """`count` more persons in 正常 in the unit; returns their 个人账号."""
    from stdnum.cn import ric

    from services.db import db
    from services.numbers import new_person_accounts

    app = _app(url, Path("/tmp"))
    with app.app_context():
        numbers = new_person_accounts(count)
        next_id = db.session.execute(sa.text("SELECT coalesce(max(id), 0) FROM person")).scalar() + 1
        persons, accounts = [], []
        for index, number in enumerate(numbers):
            # area 350199 is none of the demo's, so these never meet a demo person's ID
            body = (f"350199{1970 + index % 30}{1 + index % 12:02d}{1 + index % 28:02d}"
                    f"{index % 1000:03d}")
            persons.append({"id": next_id + index, "id_type": "01",
                            "id_number": body + ric.calc_check_digit(body + "0"),
                            "name": f"测试{index}", "gender": "1", "mobile": "", "phone": "",
                            "postcode": "", "education": "", "position": "", "occupation": "",
                            "title": "", "marital_status": "", "address": ""})
            accounts.append({"account_no": number, "person_id": next_id + index,
                             "unit_id": unit_id, "status": "01", "base": 500000,
                             "person_rate": 1200, "unit_amount": 60000, "person_amount": 60000,
                             "opened_on": "2026-01-01", "first_month": 202601})
        db.session.execute(sa.text(
            "INSERT INTO person (id, id_type, id_number, name, gender, mobile, phone, postcode, "
            "education, position, occupation, title, marital_status, address, created_at) VALUES "
            "(:id, :id_type, :id_number, :name, :gender, :mobile, :phone, :postcode, :education, "
            ":position, :occupation, :title, :marital_status, :address, CURRENT_TIMESTAMP)"),
            persons)
        db.session.execute(sa.text(
            "INSERT INTO person_account (account_no, person_id, unit_id, status, base, person_rate, "
            "unit_amount, person_amount, opened_on, first_month, updated_at) VALUES (:account_no, "
            ":person_id, :unit_id, :status, :base, :person_rate, :unit_amount, :person_amount, "
            ":opened_on, :first_month, CURRENT_TIMESTAMP)"), accounts)
        _reset_sequence(db, "person")
        db.session.commit()
        db.engine.dispose()
    return numbers


def _reset_sequence(db, table: str) -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))"))


def add_finished_copies(url: str, instance_id: int, copies: int) -> None:
    """`copies` more applications exactly like finished `instance_id`, by SQL."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        def rows(table: str, column: str):
            return [dict(r._mapping) for r in connection.execute(sa.text(
                f"SELECT * FROM {table} WHERE {column} = :id"), {"id": instance_id})]

        instance = rows("process_instance", "id")[0]
        tasks, events = rows("human_task", "instance_id"), rows("history_event", "instance_id")
        manifest = rows("manifest_row", "instance_id")
        first = connection.execute(sa.text("SELECT max(id) FROM process_instance")).scalar() + 1
        new_instances, new_tasks, new_events, new_rows = [], [], [], []
        for offset in range(copies):
            new_id = first + offset
            new_instances.append({**instance, "id": new_id})
            ids = {t["id"]: str(uuid.uuid4()) for t in tasks}
            new_tasks += [{**t, "id": ids[t["id"]], "instance_id": new_id} for t in tasks]
            new_events += [{**{k: v for k, v in e.items() if k != "id"}, "instance_id": new_id,
                            "task_id": ids.get(e["task_id"], e["task_id"])} for e in events]
            new_rows += [{**{k: v for k, v in m.items() if k != "id"}, "instance_id": new_id,
                          "row_key": f"{m['row_key']}-{new_id}"} for m in manifest]
        for table, values in (("process_instance", new_instances), ("human_task", new_tasks),
                              ("history_event", new_events), ("manifest_row", new_rows)):
            if values:
                columns = list(values[0])
                connection.execute(sa.text(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    f"({', '.join(':' + c for c in columns)})"), values)
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT setval(pg_get_serial_sequence('process_instance', "
                                       "'id'), (SELECT max(id) FROM process_instance))"))
    # Statistics for the new rows, as autovacuum would gather them within a minute of such
    # a load (the figures are of a hall in its usual state, not of the minute after it).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()


def import_file(client: Client, instance_id: int, accounts: list[str], path: Path) -> float:
    """Write a 10,000-row 基数调整 file and import it over HTTP; seconds taken."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("基数调整清册")
    sheet.append(["个人账号", "调整后缴存基数"])
    for account in accounts:
        sheet.append([account, "6000"])
    book.save(path)
    content = path.read_bytes()
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"change_type\"\r\n\r\nbase\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.xlsx\""
            f"\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + content + \
        f"\r\n--{boundary}--\r\n".encode()
    started = time.perf_counter()
    answer = client.request("POST", f"/api/v1/instances/{instance_id}/manifest/import", body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    seconds = time.perf_counter() - started
    if isinstance(answer, dict) and answer.get("imported") != len(accounts):
        raise RuntimeError(f"import: {answer}")
    return seconds


def reader_seconds(path: Path) -> float:
    """The fastest reader alone (python-calamine) on the same file, median of three."""
    from python_calamine import CalamineWorkbook

    times = []
    for _ in range(3):
        started = time.perf_counter()
        CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())).get_sheet_by_index(
            0).to_python()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


TABLES = (("process_instance", "id"), ("human_task", "instance_id"),
          ("history_event", "instance_id"), ("manifest_row", "instance_id"))


def stored_bytes(url: str, instance_id: int) -> int:
    """What one application keeps across the engine's tables and its 清册: on PostgreSQL
    the rows' own size (pg_column_size of each row), on SQLite the bytes of their values."""
    engine = sa.create_engine(url)
    total = 0
    with engine.connect() as connection:
        for table, column in TABLES:
            if engine.dialect.name == "postgresql":
                total += connection.execute(sa.text(
                    f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t "
                    f"WHERE {column} = :id"), {"id": instance_id}).scalar()
            else:
                for row in connection.execute(sa.text(f"SELECT * FROM {table} WHERE {column} = :id"),
                                              {"id": instance_id}):
                    total += sum(len(str(v).encode()) if isinstance(v, str) else 8
                                 for v in row if v is not None)
    engine.dispose()
    return total

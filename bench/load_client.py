"""The load generator of bench/load.py: one asyncio process, each simulated user on its
own kept-alive HTTP/1.1 connection with its own session, and the three scenarios."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from pathlib import Path

from services.ukey.keys import load_signer

# -- a small HTTP/1.1 client ------------------------------------------------------------------


class Client:
    """One user on one kept-alive connection, with its own session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: dict | None = None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        if self.token and method != "GET":
            head.append(f"X-CSRF-Token: {self.token}")
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            elif name == "connection" and value.lower() == "close":
                close = True
        data = await self.reader.readexactly(length)  # the hall's answers all say their length
        if close:
            self.writer.close()
            self.writer = None
        return status, data

    async def json(self, method: str, path: str, body: dict | None = None):
        status, data = await self.request(method, path, body)
        return status, (json.loads(data) if data else None)

    async def login(self, credentials: dict, card: dict | None = None) -> Client:
        """`card` (an operator's UKey: its key and certificate files) signs the session's
        login challenge as the UKey would."""
        self.token = (await self.json("GET", "/api/v1/auth/csrf"))[1]["csrf_token"]
        if card is not None:
            challenge = (await self.json("GET", "/api/v1/auth/challenge"))[1]
            signer = load_signer(Path(card["card_key_file"]).read_bytes())
            credentials = {**credentials, "ukey": {
                "certificate": Path(card["certificate_file"]).read_text(),
                "challenge_id": challenge["challenge_id"],
                "signature": base64.b64encode(signer.sign(challenge["nonce"].encode())).decode()}}
        status, body = await self.json("POST", "/api/v1/auth/login", credentials)
        if status != 200:
            raise RuntimeError(f"login failed: {body}")
        self.token = (await self.json("GET", "/api/v1/auth/csrf"))[1]["csrf_token"]
        return self


# -- scenarios ---------------------------------------------------------------------------------


async def home(user, reviewer, record):
    status, _ = await user.request("GET", "/")
    record(status == 200)


async def lists(user, reviewer, record):
    for which in ("done", "initiated"):
        status, _ = await user.request("GET", f"/api/v1/tasks?list={which}&per_page=10")
        record(status == 200)


async def cycle(user, reviewer, record):
    """One base adjustment, start to approval; `user.accounts` are its unit's persons."""
    status, started = await user.json("POST", "/api/v1/processes/base_adjustment/instances",
                                      {"data": {}})
    record(status == 201)
    if status == 409 and started.get("instance_id"):  # one left open: finish it
        await finish(user, reviewer, started["instance_id"])
    if status != 201:
        return
    instance, edit = started["instance_id"], started["tasks"][0]["task_id"]
    base = f"{random.randint(3000, 30000)}.{random.randint(1, 99):02d}"
    status, _ = await user.json("POST", f"/api/v1/instances/{instance}/manifest/rows",
                                {"person_account": random.choice(user.accounts), "new_base": base})
    record(status == 201)
    status, submitted = await user.json("POST", f"/api/v1/tasks/{edit}/complete",
                                        {"data": {"remark": "压测"}})
    record(status == 200)
    if status != 200:
        return
    review = submitted["tasks"][0]["task_id"]
    status, _ = await reviewer.json("POST", f"/api/v1/tasks/{review}/claim")
    record(status == 200)
    status, _ = await reviewer.json("POST", f"/api/v1/tasks/{review}/complete",
                                    {"data": {"decision": "approve", "opinion": "同意"}})
    record(status == 200)


async def finish(user, reviewer, instance: int) -> None:
    """An application an interrupted run left open: withdrawn, or approved if at the centre."""
    tasks = (await user.json("GET", f"/api/v1/instances/{instance}"))[1]["tasks"]
    if any(t["lane"] == "employer" for t in tasks):
        await user.json("POST", f"/api/v1/instances/{instance}/terminate", {"reason": "压测"})
    for task in tasks:
        await reviewer.json("POST", f"/api/v1/tasks/{task['task_id']}/claim")
        await reviewer.json("POST", f"/api/v1/tasks/{task['task_id']}/complete",
                            {"data": {"decision": "approve", "opinion": "同意"}})


SCENARIOS = {"home": home, "lists": lists, "cycle": cycle}


async def measure(scenario, pairs, duration: float, probe) -> dict:
    """Run the clients for 1 s of warm-up and `duration` s measured. `probe()` gives the
    CPU seconds used so far by the server's processes and by its database backends."""
    latencies: list[float] = []
    errors = 0
    state = {"measuring": False}

    async def run(user, reviewer):
        clock = {"mark": 0.0}

        def record(ok: bool) -> None:
            """One request ended: its time runs from the previous one's end."""
            nonlocal errors
            now = time.perf_counter()
            if state["measuring"]:
                latencies.append(now - clock["mark"])
                errors += not ok
            clock["mark"] = now

        while not stop.is_set():
            clock["mark"] = time.perf_counter()
            await scenario(user, reviewer, record)

    stop = asyncio.Event()
    tasks = [asyncio.create_task(run(u, r)) for u, r in pairs]
    await asyncio.sleep(1.0)  # warm-up
    state["measuring"] = True
    cpu, machine, wall, server = time.process_time(), machine_busy(), time.perf_counter(), probe()
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = time.perf_counter() - wall
    generator = time.process_time() - cpu
    busy = machine_busy(machine)
    app, database = (after - before for after, before in zip(probe(), server, strict=True))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    count = max(len(latencies), 1)
    return {"rps": len(latencies) / elapsed, "p50": latencies[count // 2] * 1000,
            "p99": latencies[min(count - 1, int(count * 0.99))] * 1000, "errors": errors,
            "app_ms": app * 1000 / count, "db_ms": database * 1000 / count,
            "generator_ms": generator * 1000 / count, "generator_cpu": generator / elapsed,
            "machine_cpu": busy}


def machine_busy(since: tuple[int, int] | None = None):
    """The whole machine's CPU use (fraction of all cores) since a previous reading."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, total = fields[3] + fields[4], sum(fields)
    if since is None:
        return idle, total
    return 1 - (idle - since[0]) / max(total - since[1], 1)
